"""Shared fixtures: two tenants, a user per role, logged-in clients, and service gates.

Service gates: a test marked `postgres`, `redis` or `browser` needs that service. Where it is
missing the test is skipped on a newcomer's machine but FAILS in CI (CI=true or
KIZUNA_REQUIRE_SERVICES=1), so CI can never go green by skipping.
"""

from __future__ import annotations

import os
import shutil
import socket
from urllib.parse import urlparse

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client

from crm.tenancy.roles import Role
from tests.factories import MembershipFactory, TenantFactory, UserFactory

REQUIRE_SERVICES = (
    os.environ.get("CI", "").lower() == "true" or os.environ.get("KIZUNA_REQUIRE_SERVICES") == "1"
)
PASSWORD = "kizuna-test-pass-1"


def _redis_reachable() -> bool:
    url = settings.CELERY_BROKER_URL
    if not url.startswith("redis://"):
        return False
    parsed = urlparse(url)
    try:
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or 6379), timeout=2
        ) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _missing_service(item) -> str | None:
    if item.get_closest_marker("postgres") and not settings.IS_POSTGRES:
        return "needs PostgreSQL: set DATABASE_URL=postgres://..."
    if item.get_closest_marker("redis") and not _redis_reachable():
        return "needs Redis: set CELERY_BROKER_URL=redis://127.0.0.1:6379/0 with Redis running"
    if item.get_closest_marker("browser") and not shutil.which("chromium"):
        return "needs Debian's chromium (apt-get install chromium)"
    return None


def pytest_runtest_setup(item):
    reason = _missing_service(item)
    if reason:
        if REQUIRE_SERVICES:
            pytest.fail(f"required service missing in CI: {reason}", pytrace=False)
        pytest.skip(reason)


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with an empty cache: on SQLite a rolled-back test's row ids come again, and
    the booking slot cache (bookings/slot_cache.py) must not answer for another test's shop."""
    cache.clear()


@pytest.fixture
def redis_cache(settings):
    """Django's default cache on the Redis of CELERY_BROKER_URL (for tests marked `redis`), as with
    CACHE_URL=redis://… in production, under a key prefix of its own (removed afterwards). Yields a
    raw client and the prefix, to see what is stored in Redis itself."""
    import uuid
    from types import SimpleNamespace

    import redis

    prefix = f"kizuna-test-{uuid.uuid4().hex[:12]}"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": settings.CELERY_BROKER_URL,
            "KEY_PREFIX": prefix,
        }
    }
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    yield SimpleNamespace(client=client, prefix=prefix)
    keys = list(client.scan_iter(f"{prefix}:*"))
    if keys:
        client.delete(*keys)


@pytest.fixture(autouse=True)
def _outbox_in_tmp(settings, tmp_path):
    settings.OUTBOX_DIR = tmp_path / "outbox"
    settings.LINE_OUTBOX_DIR = tmp_path / "outbox-line"
    settings.SMS_OUTBOX_DIR = tmp_path / "outbox-sms"


@pytest.fixture
def tenant(db):
    return TenantFactory(slug="shop-a", name="Shop A")


@pytest.fixture
def other_tenant(db):
    return TenantFactory(slug="shop-b", name="Shop B")


def _member(tenant, role):
    user = UserFactory(email=f"{role}@{tenant.slug}.test", password=PASSWORD)
    MembershipFactory(tenant=tenant, user=user, role=role)
    return user


@pytest.fixture
def owner(tenant):
    return _member(tenant, Role.OWNER)


@pytest.fixture
def manager(tenant):
    return _member(tenant, Role.MANAGER)


@pytest.fixture
def staff(tenant):
    return _member(tenant, Role.STAFF)


@pytest.fixture
def viewer(tenant):
    return _member(tenant, Role.VIEWER)


@pytest.fixture
def other_owner(other_tenant):
    return _member(other_tenant, Role.OWNER)


def _client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def owner_client(owner):
    return _client_for(owner)


@pytest.fixture
def manager_client(manager):
    return _client_for(manager)


@pytest.fixture
def staff_client(staff):
    return _client_for(staff)


@pytest.fixture
def viewer_client(viewer):
    return _client_for(viewer)


@pytest.fixture
def other_client(other_owner):
    """A logged-in owner of *another* tenant: every object of `tenant` must be a 404 for them."""
    return _client_for(other_owner)
