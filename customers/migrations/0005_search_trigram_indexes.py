"""Trigram indexes for the customer search (name, furigana, e-mail, phone digits, plate), PostgreSQL only.

Each index is on the exact expression `customers.selectors.customer_search` filters on (UPPER(col) for
`icontains`/`istartswith`, the phone and plate with separators removed), with `tenant_id` first through
btree_gin so a search in a shared database reads only the tenant's entries. They are not in the models'
Meta because SQLite (the default test database) has no GIN: the operation does nothing there.
"""

from django.db import migrations

TRIGRAM_INDEXES = {
    "customer_search_family": ("customers_customer", 'UPPER("family_name")'),
    "customer_search_given": ("customers_customer", 'UPPER("given_name")'),
    "customer_search_family_kana": ("customers_customer", 'UPPER("family_name_kana")'),
    "customer_search_given_kana": ("customers_customer", 'UPPER("given_name_kana")'),
    "customer_search_email": ("customers_customer", 'UPPER("email")'),
    "customer_search_phone": ("customers_customer", "REPLACE(REPLACE(\"phone\", '-', ''), ' ', '')"),
    "vehicle_search_plate": (
        "customers_vehicle",
        "UPPER(REPLACE(REPLACE(\"plate_number\", '-', ''), ' ', ''))",
    ),
}


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    # Both extensions are "trusted" (PostgreSQL 13+): the database owner may create them.
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
    for name, (table, expression) in TRIGRAM_INDEXES.items():
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" '
            f'USING gin ("tenant_id", ({expression}) gin_trgm_ops)'
        )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in TRIGRAM_INDEXES:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0004_customer_erased_at"),
    ]

    operations = [
        migrations.RunPython(create_indexes, drop_indexes, elidable=False),
    ]
