"""`manage.py create_db_roles [--app-role kizuna_app] [--app-password …]`

Creates (or re-asserts) the application role — LOGIN, NOSUPERUSER, NOBYPASSRLS, owning nothing — and
grants it DML on the current database, with default privileges for tables the owner creates later.
Run it as the owner role (DATABASE_OWNER_URL, used automatically) or a superuser; the owner needs
CREATEROLE to create the role. Idempotent.
"""

import os

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections, transaction

from crm.tenancy.dbroles import DEFAULT_APP_ROLE, as_owner, create_app_role_sql, grant_app_role_sql


class Command(BaseCommand):
    help = "Create the PostgreSQL application role (subject to row-level security) and grant it DML."
    requires_system_checks = []  # runs before the roles exist

    def add_arguments(self, parser):
        parser.add_argument("--app-role", default=DEFAULT_APP_ROLE)
        parser.add_argument(
            "--app-password",
            default=os.environ.get("KIZUNA_APP_DB_PASSWORD"),
            help="password of the application role (default: $KIZUNA_APP_DB_PASSWORD; none: keep it)",
        )

    def handle(self, *args, app_role, app_password, **options):
        with as_owner(DEFAULT_DB_ALIAS):
            connection = connections[DEFAULT_DB_ALIAS]
            if connection.vendor != "postgresql":
                raise CommandError("create_db_roles needs PostgreSQL (DATABASE_URL=postgres://…).")
            with connection.cursor() as cursor:
                cursor.execute("SELECT current_user")
                owner = cursor.fetchone()[0]
            if owner == app_role:
                raise CommandError(
                    f"Connected as {app_role!r} itself: run this as the owner role or a superuser."
                )
            with transaction.atomic(), connection.cursor() as cursor:
                for sql in create_app_role_sql(connection, app_role, app_password):
                    cursor.execute(sql)
                for sql in grant_app_role_sql(connection, app_role, owner):
                    cursor.execute(sql)
        self.stdout.write(f"Application role {app_role!r} ready; tables are owned by {owner!r}.")
