"""`manage.py create_api_key --tenant SLUG --name NAME [--scope read|write]`: prints the key once."""

from django.core.management.base import BaseCommand, CommandError

from crm.api.keys import api_key_create
from crm.models import ApiKeyScope, Tenant
from crm.tenancy.rls import tenant_context


class Command(BaseCommand):
    help = "Create an API key for a tenant and print it (it is stored hashed and cannot be shown again)."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="Tenant slug")
        parser.add_argument("--name", required=True, help="What the key is for, e.g. 'POS till'")
        parser.add_argument("--scope", choices=ApiKeyScope.values, default=ApiKeyScope.READ)

    def handle(self, *args, tenant, name, scope, **options):
        shop = Tenant.objects.filter(slug=tenant).first()
        if shop is None:
            raise CommandError(f"No tenant with slug {tenant!r}.")
        with tenant_context(shop.pk):  # row-level security (crm.tenancy.rls)
            key, raw = api_key_create(tenant=shop, name=name, scope=scope, created_by=None)
        self.stderr.write(
            f"Created {scope} key {key.prefix}… for {shop.slug}. Store it now; it is not shown again."
        )
        self.stdout.write(raw)
