"""The staff workspace: what composes several apps.

Layer order (checked by import-linter in `make lint`): crm ← customers ← interactions ← reminders, analytics
← workspace. Pages and use-cases that need more than one app live here and take their data from the
apps' selectors and services: Today, Customer 360, a customer's whole record (APPI export and erasure),
handing a member's work over, and the demo data generator.
"""
