"""Related fields scoped to the request's tenant: another tenant's id is a 400, never a reference."""

from __future__ import annotations

from django.db import models
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from crm.tenancy.selectors import tenant_users


class TenantRelatedField(serializers.PrimaryKeyRelatedField):
    """A foreign key that only accepts rows of the request's tenant: another tenant's id is a 400."""

    def __init__(self, model: type[models.Model] | None = None, **kwargs):
        self.model = model
        super().__init__(**kwargs)

    def get_queryset(self):
        return self.model.objects.for_tenant(self.context["request"].tenant)


class TenantUserField(serializers.PrimaryKeyRelatedField):
    """A user field (assigned staff, owner…) that only accepts active members of the request's tenant."""

    def get_queryset(self):
        return tenant_users(tenant=self.context["request"].tenant)


@extend_schema_field(OpenApiTypes.STR)
class TenantSlugRelatedField(serializers.SlugRelatedField):
    """A foreign key given by a natural key (external_ref, category code) within the request's tenant."""

    def __init__(self, model: type[models.Model] | None = None, **kwargs):
        self.model = model
        super().__init__(**kwargs)

    def get_queryset(self):
        return self.model.objects.for_tenant(self.context["request"].tenant)
