"""The REST API's foundation: authentication, tenant scoping, permissions, paging, idempotency, export.

Every app's `apis.py` builds on `crm.api.viewsets.TenantModelViewSet` (and its serializers on
`crm.api.serializers.TenantModelSerializer`). The rules it enforces, so no endpoint can forget:

* **Tenant scoping cannot be bypassed.** A viewset names its `model`; `get_queryset()` is final and
  always starts from `model.objects.for_tenant(request.tenant)`. Subclasses refine the queryset in
  `scope_queryset()`, which only ever receives the scoped one (the idea of PostHog's
  `posthog/api/routing.py`). Declaring `queryset` or overriding `get_queryset` raises at import time.
* **The tenant comes from the credential**: an API key belongs to exactly one tenant; a person's
  session carries the tenant chosen in the dashboard (`crm.tenancy.middleware`). Never from the
  request body.
* **Roles**: reading needs `read_role`, writing needs `write_role` (see crm/tenancy/roles.py). A
  read-scoped key acts as a viewer, a write-scoped key as staff; keys never get manager or owner rights.
* **Cursor paging** by keyset over a total order (`updated_at`, `id` by default; see
  `crm.api.pagination.StableCursorPagination`), so `updated_since` + paging lets an integration sync
  incrementally: every row exactly once per walk, however many share a timestamp; a row changed
  while paging comes again on the next `updated_since` sync, not twice in this one.
* **Idempotency-Key** on POST: the first answer is stored and replayed; a different body with the
  same key is a 409.
* **CSV export** of any filtered list at `<list>/export/`, safe against formula injection.

Where each part lives: `authentication` (API keys as credentials; the keys themselves in `keys`),
`permissions`, `throttling`, `pagination`, `metadata` (the classes DRF's settings name), `viewsets`,
`serializers`, `fields` (foreign keys scoped to the tenant), `filters`, `idempotency`, `export`,
`exceptions` (the error mapping), `schema` (OpenAPI). The API keys' dashboard pages are `views`/`forms`.

This package's own module stays free of imports: DRF imports the classes named in its settings while
`rest_framework.views` is still loading, and importing one of them imports this package first.
"""
