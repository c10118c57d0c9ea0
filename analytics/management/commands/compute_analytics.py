"""`python manage.py compute_analytics [--tenant SLUG] [--as-of YYYY-MM-DD] [--no-fit]`."""

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from analytics.services import analytics_refresh_tenant
from crm.models import Tenant
from crm.tenancy.rls import tenant_context


class Command(BaseCommand):
    help = "Recompute RFM segments, monthly KPIs and the BTYD fit for one tenant or all tenants."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", help="tenant slug (default: every tenant)")
        parser.add_argument("--as-of", type=date.fromisoformat, help="as-of date (default: today)")
        parser.add_argument("--no-fit", action="store_true", help="skip the BTYD (predicted LTV) fit")

    def handle(self, *args, tenant=None, as_of=None, no_fit=False, **options):
        tenants = Tenant.objects.all()
        if tenant:
            tenants = tenants.filter(slug=tenant)
            if not tenants.exists():
                raise CommandError(f"No tenant with slug {tenant!r}")
        for t in tenants:
            # One transaction per tenant with the database tenant set: under row-level security
            # (crm.tenancy.rls) a statement outside a tenant context sees no rows and writes none.
            with tenant_context(t.pk):
                result = analytics_refresh_tenant(tenant=t, as_of=as_of, fit=not no_fit)
            self.stdout.write(f"{t.slug}: " + ", ".join(f"{k}={v}" for k, v in result.items()))
