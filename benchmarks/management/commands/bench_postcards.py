"""Postcards benchmark: build a print batch of 1,000 postcard reminders and render it to PDF.

    DATABASE_URL=postgres://…/kizuna_bench python manage.py bench_postcards --settings=benchmarks.settings \
        [--cards 1000]

Makes a throw-away shop with N customers (varied real-looking addresses, 〒, a vehicle each) and one
queued postcard reminder per customer, then times, in this one process: building the batch (the
set-based service), loading its cards with the messages rendered in the sandbox, the duplex card PDF
(vertical address, 2 pages per card), a reprint, and the A4 24-up labels. Peak RSS is the process's
(`ru_maxrss`, Django and everything included). The shop is deleted at the end. Target: < 60 s and
< 500 MB for 1,000 cards (docs/benchmarks.md, Postcards).
"""

from __future__ import annotations

import os
import random
import resource
import time
from datetime import date, timedelta

from django.core.management.base import BaseCommand

from channels.models import MessageChannel
from crm.models import Tenant
from crm.tenancy.rls import tenant_context
from customers.models import Customer, Vehicle
from reminders.models import Reminder, ReminderStatus, RuleKind
from reminders.postcards import selectors, services
from reminders.postcards.render import render_labels, render_postcards
from reminders.services import reminder_defaults_create


class Command(BaseCommand):
    help = "Benchmark a print batch of postcards: build, load, card PDF, reprint, labels (time and peak RSS)."

    def add_arguments(self, parser):
        parser.add_argument("--cards", type=int, default=1000)

    def handle(self, *args, **options):
        rng = random.Random(14)
        places = [
            ("東京都", "世田谷区三軒茶屋{a}-{b}-{c}", "サンタワーズ{d}号室"),
            ("北海道", "札幌市中央区大通西{a}丁目{b}-{c}", ""),
            ("大阪府", "大阪市北区梅田{a}-{b}-{c}", "梅田グランドハイツ{d}"),
            ("愛知県", "名古屋市中村区名駅{a}-{b}-{c}", ""),
            ("沖縄県", "那覇市久茂地{a}-{b}-{c}", "ヒルズ那覇ー{d}"),
        ]
        today = date(2026, 6, 1)
        slug = f"bench-postcards-{int(time.time())}"
        shop_address = "〒150-0001 東京都渋谷区神宮前1-1-1 絆ビル2F"
        tenant = Tenant.objects.create(
            slug=slug, name="絆モータース ベンチ店", address=shop_address, phone="03-1234-5678"
        )
        try:
            with tenant_context(tenant.pk):
                rule = next(
                    r for r in reminder_defaults_create(tenant=tenant) if r.kind == RuleKind.INSPECTION
                )
                customers = []
                for i in range(options["cards"]):
                    prefecture, street, building = rng.choice(places)
                    parts = {
                        "a": rng.randint(1, 9),
                        "b": rng.randint(1, 30),
                        "c": rng.randint(1, 40),
                        "d": rng.randint(101, 1508),
                    }
                    address = street.format(**parts) + (" " + building.format(**parts) if building else "")
                    customers.append(
                        Customer(
                            tenant=tenant,
                            family_name=rng.choice(["山田", "佐藤", "鈴木", "高橋", "渡辺", "伊藤"]),
                            given_name=rng.choice(["太郎", "花子", "一郎", "美咲", "健太", "さくら"]),
                            postal_code=f"{rng.randint(0, 999):03d}-{rng.randint(0, 9999):04d}",
                            prefecture=prefecture,
                            address=address,
                            external_ref=f"b{i}",
                        )
                    )
                customers = Customer.objects.bulk_create(customers)
                vehicles = Vehicle.objects.bulk_create(
                    Vehicle(
                        tenant=tenant,
                        customer=c,
                        maker="トヨタ",
                        model_name="プリウス",
                        plate_number=f"品川 300 さ {i % 100:02d}-{i % 97:02d}",
                        inspection_expiry=today + timedelta(days=90),
                    )
                    for i, c in enumerate(customers)
                )
                Reminder.objects.bulk_create(
                    Reminder(
                        tenant=tenant,
                        rule=rule,
                        step=1,
                        customer=c,
                        vehicle=v,
                        occasion_date=today + timedelta(days=90),
                        due_date=today,
                        status=ReminderStatus.QUEUED,
                        channel=MessageChannel.POSTCARD,
                    )
                    for c, v in zip(customers, vehicles, strict=True)
                )
            rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            timings = {}
            start = time.perf_counter()
            with tenant_context(tenant.pk):
                batch = services.print_batch_create(tenant=tenant, due_until=today)
            timings["build batch"] = time.perf_counter() - start
            t = time.perf_counter()
            with tenant_context(tenant.pk):
                document = selectors.print_batch_document(tenant=tenant, batch=batch)
            timings["load cards + render messages"] = time.perf_counter() - t
            t = time.perf_counter()
            pdf = render_postcards(document.cards)
            timings["card PDF (duplex, vertical)"] = time.perf_counter() - t
            t = time.perf_counter()
            with tenant_context(tenant.pk):
                again = render_postcards(selectors.print_batch_document(tenant=tenant, batch=batch).cards)
            timings["reprint (load + PDF)"] = time.perf_counter() - t
            t = time.perf_counter()
            labels = render_labels(document.cards, per_sheet=24)
            timings["labels 24-up PDF"] = time.perf_counter() - t
            total = time.perf_counter() - start
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            sizes = f"PDF {len(pdf) / 1e6:.1f} MB, labels {len(labels) / 1e6:.1f} MB"
            self.stdout.write(f"cards: {batch.card_count} (problems {batch.problem_count}); {sizes}")
            self.stdout.write(f"reprint identical: {again == pdf}")
            for name, seconds in timings.items():
                self.stdout.write(f"{name}: {seconds:.2f} s")
            self.stdout.write(
                f"total: {total:.2f} s; peak RSS {rss:.0f} MB (before the batch: {rss_before:.0f} MB)"
            )
            self.stdout.write(
                f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; cores: {os.cpu_count()}"
            )
        finally:
            with tenant_context(tenant.pk):
                tenant.delete()
