from datetime import date

from django.core.management.base import BaseCommand, CommandError

from crm.models import Tenant
from reminders.planner import plan_reminders


class Command(BaseCommand):
    help = "Plan reminder e-mails from the active rules (idempotent: safe to run again)."

    def add_arguments(self, parser):
        parser.add_argument("--date", help="Plan as if today were this date (YYYY-MM-DD).")
        parser.add_argument("--tenant", help="Only this tenant (slug).")

    def handle(self, *args, date=None, tenant=None, **options):
        on = _parse_date(date) if date else None
        tenant_id = None
        if tenant:
            try:
                tenant_id = Tenant.objects.get(slug=tenant).pk
            except Tenant.DoesNotExist as exc:
                raise CommandError(f"No tenant with slug {tenant!r}") from exc
        created = plan_reminders(on=on, tenant_id=tenant_id)
        for kind, n in created.items():
            self.stdout.write(f"{kind}: {n}")
        self.stdout.write(self.style.SUCCESS(f"planned {sum(created.values())} reminders"))


def _parse_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--date must be YYYY-MM-DD, got {value!r}") from exc
