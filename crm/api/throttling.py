"""Requests per key or per person (the THROTTLE setting)."""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from crm.models import ApiKey


class ApiRateThrottle(SimpleRateThrottle):
    """Requests per key (or per person); the rate is the setting KIZUNA_API_RATE, e.g. "1200/min".

    Read at request time (not import time) so deployments and tests can change it.
    """

    scope = "api"

    def get_rate(self):
        return getattr(settings, "KIZUNA_API_RATE", "1200/min")

    def allow_request(self, request, view):
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiKey):
            ident = f"key-{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            return None
        return self.cache_format % {"scope": self.scope, "ident": ident}
