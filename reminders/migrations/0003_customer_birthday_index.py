"""An index for the planner's birthday rule, PostgreSQL only.

Planning runs one statement per tenant (row-level security). The birthday branch reads every customer of
the tenant with a birthday; their rows are spread over the whole table (customers of many shops arrive
interleaved), so reading them from the heap costs one page per customer. With (tenant_id, birthday, id)
in one index the branch is an index-only scan over a few contiguous leaf pages. Kept out of the model's
Meta: it belongs to customers' table but exists for this query, and SQLite does not need it.
"""

from django.db import migrations

INDEX = "reminders_customer_birthday"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON customers_customer (tenant_id, birthday, id) "
            "WHERE birthday IS NOT NULL"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [
        ("reminders", "0002_alter_reminderrule_template"),
        ("customers", "0006_customer_language"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
