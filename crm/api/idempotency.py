"""`Idempotency-Key` on POST: the first answer is stored and replayed; the same key with another body
is a 409, and a key whose first request is still running is a 409 too (retry later)."""

from __future__ import annotations

import hashlib
import json

from django.db import IntegrityError, transaction
from rest_framework.response import Response

from crm.api.exceptions import IdempotencyConflict, IdempotencyInProgress
from crm.api.schema import IDEMPOTENCY_HEADER
from crm.models import IdempotentRequest


class IdempotentPostMixin:
    """Wraps a viewset's POST handler when the request carries an Idempotency-Key (needs `self.tenant`)."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if request.method == "POST" and request.headers.get(IDEMPOTENCY_HEADER):
            handler = getattr(self, "post", None)
            if handler is not None:
                # dispatch() looks the handler up after initial(); wrap it so retries replay.
                self.post = self._idempotent(handler)

    def _request_fingerprint(self, request) -> str:
        """A hash of method, path, body fields and uploaded files' bytes: "the same request"."""
        digest = hashlib.sha256()
        digest.update(f"{request.method} {request.path}\n".encode())
        data = request.data
        if hasattr(data, "getlist"):  # form or multipart: files are hashed by content below
            plain = {name: [str(v) for v in data.getlist(name)] for name in sorted(data.keys())}
        else:
            plain = data
        digest.update(json.dumps(plain, sort_keys=True, default=str).encode())
        for name in sorted(request.FILES):
            upload = request.FILES[name]
            for chunk in upload.chunks():
                digest.update(chunk)
            upload.seek(0)
        return digest.hexdigest()

    def _idempotent(self, handler):
        def wrapped(request, *args, **kwargs):
            key = request.headers[IDEMPOTENCY_HEADER][:255]
            fingerprint = self._request_fingerprint(request)
            try:
                with transaction.atomic():
                    record, created = IdempotentRequest.objects.for_tenant(self.tenant).get_or_create(
                        tenant=self.tenant, key=key, defaults={"request_hash": fingerprint}
                    )
            except IntegrityError:  # a concurrent first request with the same key
                raise IdempotencyInProgress() from None
            if not created:
                if record.request_hash != fingerprint:
                    raise IdempotencyConflict()
                if record.response_status is None:
                    raise IdempotencyInProgress()
                response = Response(record.response_body, status=record.response_status)
                response["Idempotent-Replayed"] = "true"
                return response
            try:
                response = handler(request, *args, **kwargs)
            except Exception as exc:
                response = self.handle_exception(exc)
            body = json.dumps(response.data, default=str)
            # Not an answer worth replaying (let the client retry for real), or one PostgreSQL's jsonb
            # cannot hold: a NUL character, e.g. an uploaded binary file echoed in an import report.
            if response.status_code >= 500 or response.status_code == 429 or "\\u0000" in body:
                IdempotentRequest.objects.for_tenant(self.tenant).filter(pk=record.pk).delete()
            else:
                IdempotentRequest.objects.for_tenant(self.tenant).filter(pk=record.pk).update(
                    response_status=response.status_code, response_body=json.loads(body)
                )
            return response

        return wrapped
