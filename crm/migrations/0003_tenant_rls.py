"""Row-level security on every tenant-owned table that exists at this point (all apps).

Kept in one crm migration so the apps' own migration histories stay untouched; tenant-owned models
added later enable RLS in their own app's migration with `crm.tenancy.rls.EnableTenantRLS("<model>")`.
tests/crm/test_rls.py fails for any table with a tenant_id column and no policy.
"""

from django.db import migrations

from crm.tenancy.rls import API_KEY_HASH_SETTING, USER_SETTING, EnableTenantRLS

TENANT_MODELS = [
    "crm.IdempotentRequest",
    "customers.Household",
    "customers.Tag",
    "customers.Customer",
    "customers.CustomerTag",
    "customers.Vehicle",
    "customers.PurchaseCategory",
    "customers.Purchase",
    "customers.ServiceRecord",
    "customers.Handover",
    "customers.ImportJob",
    "interactions.Interaction",
    "interactions.Deal",
    "interactions.CallTask",
    "reminders.ReminderTemplate",
    "reminders.ReminderRule",
    "reminders.ReminderStep",
    "reminders.Reminder",
    "analytics.AnalyticsSettings",
    "analytics.CustomerRFM",
    "analytics.SegmentSnapshot",
    "analytics.MonthlyKPI",
    "analytics.BTYDFit",
    "analytics.CustomerLTV",
]


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0002_api_keys"),
        ("customers", "0003_service_next_due_index"),
        ("interactions", "0001_initial"),
        ("reminders", "0002_alter_reminderrule_template"),
        ("analytics", "0002_btydfit_blank"),
    ]

    operations = [
        # Before a tenant is chosen, the middleware lets a transaction read the signed-in user's own
        # memberships (the tenant picker), and the API authenticator the one key whose hash was sent.
        EnableTenantRLS(
            "Membership",
            extra_using=f"user_id = NULLIF(current_setting('{USER_SETTING}', true), '')::bigint",
        ),
        EnableTenantRLS(
            "ApiKey",
            extra_using=f"hashed_key = NULLIF(current_setting('{API_KEY_HASH_SETTING}', true), '')",
        ),
        *[EnableTenantRLS(name) for name in TENANT_MODELS],
    ]
