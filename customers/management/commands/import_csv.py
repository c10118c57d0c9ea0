"""`manage.py import_csv --tenant SLUG --kind KIND FILE [--skip-invalid] [--dry-run]`."""

from django.core.management.base import BaseCommand, CommandError

from crm.models import Tenant
from crm.tenancy.rls import tenant_context
from customers.imports import KINDS, run_import


class Command(BaseCommand):
    help = (
        "Import a CSV of customers, vehicles, purchases or service_records (UTF-8, UTF-8 with BOM or "
        "Shift_JIS). By default any invalid row means nothing is written; every bad row is listed."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--tenant", required=True, help="Tenant slug")
        parser.add_argument("--kind", required=True, choices=KINDS)
        parser.add_argument("--skip-invalid", action="store_true", help="Import the valid rows anyway")
        parser.add_argument("--dry-run", action="store_true", help="Validate only; write nothing")

    def handle(self, *args, file, tenant, kind, skip_invalid, dry_run, **options):
        shop = Tenant.objects.filter(slug=tenant).first()
        if shop is None:
            raise CommandError(f"No tenant with slug {tenant!r}.")
        try:
            fileobj = open(file, "rb")  # noqa: SIM115 - closed below; run_import streams it
        except OSError as exc:
            raise CommandError(str(exc)) from exc
        with fileobj, tenant_context(shop.pk):  # row-level security: this shop's rows only (crm.tenancy.rls)
            report = run_import(
                tenant=shop,
                kind=kind,
                fileobj=fileobj,
                skip_invalid=skip_invalid,
                dry_run=dry_run,
                progress=lambda rows: self.stderr.write(f"\r{rows:,} rows read", ending=""),
            )
        self.stderr.write("")
        for error in report.errors:
            self.stderr.write(f"row {error.row}, {error.column or '-'}: {error.message}")
        verb = "would be imported" if dry_run else "imported"
        self.stdout.write(
            f"{report.rows_imported} of {report.rows_total} rows {verb} ({report.encoding}); "
            f"{len(report.errors)} errors"
        )
        if report.errors and not skip_invalid:
            raise CommandError("Nothing was written because of the errors above (use --skip-invalid).")
