"""The tenancy core: every tenant-owned model inherits `TenantOwned`.

Scoping fails closed. `Model.objects` refuses to run a query (fetch, count, exists,
aggregate, update, delete) unless the query is visibly scoped to one tenant:

* `Model.objects.for_tenant(tenant)` — the normal, scoped query;
* a queryset whose top-level WHERE has `tenant = X` (e.g. Django's own unique checks);
* a related manager (`customer.vehicles.all()`), whose parent row already belongs to one tenant;
* `Model.objects.unscoped()` — the deliberate escape hatch for cross-tenant work (the planner,
  the nightly analytics refresh, the platform admin). It stands out in review on purpose.
"""

from __future__ import annotations

from django.db import models
from django.db.models.lookups import Exact, In


class UnscopedQueryError(RuntimeError):
    """A query on a tenant-owned model was about to run without a tenant."""


class TenantQuerySet(models.QuerySet):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._tenant_scoped = False

    def _clone(self):
        clone = super()._clone()
        clone._tenant_scoped = self._tenant_scoped
        return clone

    # --- scoping ------------------------------------------------------------------------------
    def for_tenant(self, tenant) -> TenantQuerySet:
        """Rows of one tenant. `tenant` is a Tenant or its primary key."""
        if tenant is None:
            raise UnscopedQueryError(f"{self.model.__name__}.for_tenant() needs a tenant, got None")
        tenant_id = getattr(tenant, "pk", tenant)
        clone = self.filter(tenant_id=tenant_id)
        clone._tenant_scoped = True
        return clone

    def unscoped(self) -> TenantQuerySet:
        """All tenants' rows. Use only for deliberate cross-tenant work; say why at the call site."""
        clone = self._chain()
        clone._tenant_scoped = True
        return clone

    def _is_scoped(self) -> bool:
        if self._tenant_scoped or self._hints.get("instance") is not None:
            return True
        where = self.query.where
        if where.connector != "AND" or where.negated:
            return False
        for child in where.children:
            target = getattr(getattr(child, "lhs", None), "target", None)
            if (
                isinstance(child, Exact | In)
                and target is not None
                and target.name == "tenant"
                and issubclass(self.model, target.model)
            ):
                return True
        return False

    def _check_scoped(self) -> None:
        if not self._is_scoped():
            raise UnscopedQueryError(
                f"Query on tenant-owned {self.model.__name__} without a tenant: "
                f"use .for_tenant(tenant), or .unscoped() where crossing tenants is intended."
            )

    # --- every path that reaches the database ---------------------------------------------------
    def _fetch_all(self):
        if self._result_cache is None:
            self._check_scoped()
        return super()._fetch_all()

    def iterator(self, *args, **kwargs):
        self._check_scoped()
        return super().iterator(*args, **kwargs)

    def count(self):
        if self._result_cache is None:
            self._check_scoped()
        return super().count()

    def exists(self):
        if self._result_cache is None:
            self._check_scoped()
        return super().exists()

    def aggregate(self, *args, **kwargs):
        self._check_scoped()
        return super().aggregate(*args, **kwargs)

    def update(self, **kwargs):
        self._check_scoped()
        return super().update(**kwargs)

    update.alters_data = True

    def delete(self):
        self._check_scoped()
        return super().delete()

    delete.alters_data = True

    def in_bulk(self, *args, **kwargs):
        self._check_scoped()
        return super().in_bulk(*args, **kwargs)

    def explain(self, *args, **kwargs):
        self._check_scoped()
        return super().explain(*args, **kwargs)


class TenantManager(models.Manager.from_queryset(TenantQuerySet)):
    pass


class TenantOwned(models.Model):
    """Base of every tenant-owned model: a non-null tenant, scoped manager, tenant-leading indexes.

    Subclasses declare their own indexes and unique constraints with `tenant` first, so the
    schema can be distributed by tenant (e.g. Citus) and every lookup uses the index.
    """

    tenant = models.ForeignKey("crm.Tenant", on_delete=models.CASCADE, related_name="+", editable=False)

    # Django's internals (saving, cascades, refresh_from_db) use the plain base manager; they act on
    # rows that were already loaded through a scoped query.
    objects = TenantManager()

    class Meta:
        abstract = True
