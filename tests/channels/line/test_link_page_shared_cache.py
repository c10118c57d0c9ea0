"""With CACHE_URL=redis://… the LINE link page's lockout is counted in Redis: a guesser who is sent to
another web process (a fresh connection here) is still locked out."""

from __future__ import annotations

import pytest
from django.core.cache import caches
from django.test import Client
from django.urls import reverse

from channels import line_inbound
from channels.line_linking import link_token_make
from channels.line_models import LineLinkCode
from channels.line_views import LINK_PAGE_MAX_TRIES
from channels.models import LineContact
from tests.factories import CustomerFactory

pytestmark = [pytest.mark.django_db, pytest.mark.redis]


@pytest.fixture(autouse=True)
def _no_pushes(monkeypatch):
    monkeypatch.setattr(line_inbound.line_tasks.line_send_link_invite, "delay", lambda *a: None)
    monkeypatch.setattr(line_inbound.line_tasks.line_send_linked_notice, "delay", lambda *a: None)


def test_the_lockout_holds_across_processes(redis_cache, line_shop, tenant, user_id):
    customer = CustomerFactory(tenant=tenant)
    code = line_inbound.line_link_code_issue(tenant=tenant, customer=customer, user=None)
    url = reverse("line:link_page", args=[link_token_make(tenant_id=tenant.pk, line_user_id=user_id)])
    for attempt in range(LINK_PAGE_MAX_TRIES):
        if attempt == 1:
            del caches["default"]  # the next tries land on another process
        assert Client().post(url, {"code": "ZZZZ-ZZZZ"}).status_code == 400
    assert len(list(redis_cache.client.scan_iter(f"{redis_cache.prefix}:*line-link-tries:*"))) == 1
    del caches["default"]

    response = Client().post(url, {"code": code})  # even the right code, now

    assert response.status_code == 400
    assert LineContact.objects.filter(tenant=tenant, customer__isnull=False).count() == 0
    assert LineLinkCode.objects.for_tenant(tenant).get().used_at is None
