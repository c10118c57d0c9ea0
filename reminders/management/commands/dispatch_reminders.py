from django.core.mail import get_connection
from django.core.management.base import BaseCommand

from reminders import dispatch, sending


class Command(BaseCommand):
    help = (
        "Send due reminders now, in this process (same claim as the Celery dispatcher; for operators "
        "and the embedded setup). Messages go through the configured e-mail backend."
    )

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=10_000, help="Stop after this many reminders.")

    def handle(self, *args, limit, **options):
        counts: dict[str, int] = {}
        done = 0
        # Recover rows a crashed worker left behind, then claim and send batch after batch, over one
        # e-mail connection (opened here, so the batches reuse it).
        connection = get_connection(fail_silently=False)
        connection.open()
        try:
            rows = dispatch.reminders_sweep_stuck()
            while done < limit:
                queued, claimed = dispatch.reminders_claim_due(
                    limit=min(dispatch.DISPATCH_BATCH_SIZE, limit - done)
                )
                rows += queued
                if claimed > len(queued):
                    counts["call_task"] = counts.get("call_task", 0) + claimed - len(queued)
                if not claimed and not rows:
                    break
                by_tenant: dict[int, list[int]] = {}
                for tenant_id, reminder_id in rows:
                    by_tenant.setdefault(tenant_id, []).append(reminder_id)
                for tenant_id, ids in by_tenant.items():
                    result = sending.reminders_send_batch(
                        tenant_id=tenant_id, reminder_ids=ids, connection=connection
                    )
                    for status, n in result.counts().items():
                        status = "retry later" if status in ("retry", "requeued") else status
                        counts[status] = counts.get(status, 0) + n
                done += max(len(rows), claimed)
                rows = []
        finally:
            connection.close()
        for status, n in sorted(counts.items()):
            self.stdout.write(f"{status}: {n}")
        self.stdout.write(self.style.SUCCESS(f"dispatched {done} reminders"))
