"""API fixtures: keys per tenant and scope, and API clients authenticated by key or session."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from crm.api.keys import api_key_create


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_throttle_cache():
    cache.clear()
    yield
    cache.clear()


def key_client(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.fixture
def write_key(tenant, owner):
    return api_key_create(tenant=tenant, name="Till", scope="write", created_by=owner)


@pytest.fixture
def read_key(tenant, owner):
    return api_key_create(tenant=tenant, name="Website", scope="read", created_by=owner)


@pytest.fixture
def api(write_key):
    """A write-scoped key client of `tenant`."""
    return key_client(write_key[1])


@pytest.fixture
def read_api(read_key):
    return key_client(read_key[1])


@pytest.fixture
def other_api(other_tenant, other_owner):
    """A write-scoped key of *another* tenant: `tenant`'s objects must be 404 for it."""
    _key, raw = api_key_create(tenant=other_tenant, name="Other till", scope="write", created_by=other_owner)
    return key_client(raw)


def session_client(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


@pytest.fixture
def staff_api(staff):
    return session_client(staff)


@pytest.fixture
def viewer_api(viewer):
    return session_client(viewer)


@pytest.fixture
def owner_api(owner):
    return session_client(owner)


@pytest.fixture
def other_owner_api(other_owner):
    return session_client(other_owner)
