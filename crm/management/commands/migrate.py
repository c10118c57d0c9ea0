"""`manage.py migrate`, run as the schema owner when DATABASE_OWNER_URL is set.

The application's own role (DATABASE_URL) is subject to row-level security and owns nothing, so it
cannot run DDL. With DATABASE_OWNER_URL set, this command connects with the owner's credentials to
the same database, migrates, and re-applies the application role's grants (crm.tenancy.dbroles), so a new
table is usable by the application at once and append-only tables stay append-only.
"""

from django.core.management.commands.migrate import Command as DjangoMigrate
from django.db import DEFAULT_DB_ALIAS, connections

from crm.tenancy.checks import rls_checks_suspended
from crm.tenancy.dbroles import as_owner, grant_app_role_sql


class Command(DjangoMigrate):
    def handle(self, *args, **options):
        database = options["database"]
        with rls_checks_suspended():
            if database != DEFAULT_DB_ALIAS:
                return super().handle(*args, **options)
            app_role = connections[database].settings_dict.get("USER")
            with as_owner(database) as owner:
                result = super().handle(*args, **options)
                connection = connections[database]
                if owner and app_role and owner != app_role and connection.vendor == "postgresql":
                    with connection.cursor() as cursor:
                        for sql in grant_app_role_sql(connection, app_role, owner):
                            cursor.execute(sql)
                    if options["verbosity"] >= 1:
                        self.stdout.write(f"Granted the application role {app_role!r} its privileges.")
            return result
