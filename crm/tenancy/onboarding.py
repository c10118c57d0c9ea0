"""Onboarding a new shop: each app registers what a new tenant gets from it; `tenant_create` applies it.

The tenancy core sits below the apps and never imports them. Instead each app's `AppConfig.ready()`
registers its defaults here (customers: the purchase categories; reminders: the default rules and
their templates), and `crm.tenancy.services.tenant_create` calls them in its transaction, with the new
tenant as the database tenant, in the order of INSTALLED_APPS (so an app's defaults may rely on those
of the apps below it).

A defaults function takes the tenant as its only, keyword argument and must be safe to call twice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from django.apps import apps

if TYPE_CHECKING:
    from crm.models import Tenant

TenantDefaults = Callable[..., object]  # fn(*, tenant: Tenant)

_registry: dict[str, list[TenantDefaults]] = {}


def register_tenant_defaults(app_label: str, fn: TenantDefaults) -> TenantDefaults:
    """Register `fn(*, tenant)` to run for every new tenant. Registering the same function twice (a
    second `ready()`, as some test setups cause) keeps one."""
    functions = _registry.setdefault(app_label, [])
    if fn not in functions:
        functions.append(fn)
    return fn


def tenant_defaults() -> list[tuple[str, TenantDefaults]]:
    """Every registered defaults function with its app label, in the order of INSTALLED_APPS."""
    order = {config.label: index for index, config in enumerate(apps.get_app_configs())}
    labels = sorted(_registry, key=lambda label: (order.get(label, len(order)), label))
    return [(label, fn) for label in labels for fn in _registry[label]]


def tenant_defaults_create(*, tenant: Tenant) -> None:
    """Give a new tenant every app's defaults. The caller holds the transaction and the tenant context."""
    for _label, fn in tenant_defaults():
        fn(tenant=tenant)
