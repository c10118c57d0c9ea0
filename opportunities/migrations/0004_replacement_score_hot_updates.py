# The nightly scoring updates every VehicleReplacementScore row in place (opportunities.scoring). The
# expected_value index changed with nearly every row, so every update wrote all five indexes; without it
# (nothing reads through it: the weekly list takes all of a shop's scores), and with room in each page
# for the next version of its rows, the updates are HOT: heap only, and the old versions are pruned
# from their page on the next night's read, with or without a vacuum in between.

from django.db import migrations

from crm.db.migration_operations import RemoveIndexOnline


def set_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE opportunities_vehiclereplacementscore SET (fillfactor = 45)")


def reset_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE opportunities_vehiclereplacementscore RESET (fillfactor)")


class Migration(migrations.Migration):
    # DROP INDEX CONCURRENTLY on PostgreSQL runs outside a transaction.
    atomic = False

    dependencies = [
        ("opportunities", "0003_worklist"),
    ]

    operations = [
        RemoveIndexOnline(
            model_name="vehiclereplacementscore",
            name="replscore_tenant_value",
        ),
        migrations.RunPython(set_fillfactor, reset_fillfactor),
    ]
