"""`create_tenant SLUG --name NAME --owner-email EMAIL`: a real first tenant and its owner."""

import secrets

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from crm.models import User
from crm.tenancy.services import tenant_create


class Command(BaseCommand):
    help = "Create a tenant (shop) and its owner. A new owner gets a one-time password printed once."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        parser.add_argument("--owner-email", required=True)
        parser.add_argument("--sender-email", default="")

    def handle(self, *args, slug, name, owner_email, sender_email, **opts):
        new_user = not User.objects.filter(email__iexact=owner_email).exists()
        password = secrets.token_urlsafe(12) if new_user else None
        try:
            tenant = tenant_create(
                slug=slug,
                name=name,
                owner_email=owner_email,
                owner_password=password,
                sender_email=sender_email,
            )
        except ValidationError as exc:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from exc
        self.stdout.write(
            self.style.SUCCESS(f"Created tenant {tenant.slug} ({tenant.name}); owner {owner_email}")
        )
        if password:
            self.stdout.write(
                f"One-time password for {owner_email}: {password}  (change it after logging in)"
            )
