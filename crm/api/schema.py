"""The API's OpenAPI schema: every operation documents the errors it can answer with, and API keys are
described as the bearer scheme."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

IDEMPOTENCY_HEADER = "Idempotency-Key"


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    # Named by path: the authentication module stays importable before DRF has finished loading.
    target_class = "crm.api.authentication.ApiKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": str(
                _(
                    "A tenant API key, created by an owner in the dashboard or with "
                    "`manage.py create_api_key`. Send it as `Authorization: Bearer <key>`. "
                    "Read-scoped keys may only read."
                )
            ),
        }


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text=_("A human-readable message, in the request's language."))


VALIDATION_ERROR_SCHEMA = {
    "type": "object",
    "description": str(
        _(
            "Field errors: each key is a field name (or non_field_errors) with a list of messages, "
            "translated to the request's language (Accept-Language)."
        )
    ),
    "additionalProperties": True,
}


# --- the schema: every operation documents its errors ----------------------------------------------
class KizunaAutoSchema(AutoSchema):
    """Adds the error answers every endpoint can give (400, 401, 403, 404, 409, 413, 429)."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        error = self._get_response_for_code(ErrorSerializer, "401")
        errors = {
            "401": (error, _("Missing, invalid or revoked credentials.")),
            "403": (error, _("Your role or the key's scope does not allow this.")),
            "429": (error, _("Too many requests for this key; retry after the Retry-After seconds.")),
        }
        errors["404"] = (error, _("Not found in your shop."))
        if self.method != "DELETE":
            errors["400"] = (
                {"content": {"application/json": {"schema": VALIDATION_ERROR_SCHEMA}}},
                _("Invalid input (body fields, query filters or the paging cursor): field errors."),
            )
        if self.method in ("POST", "PUT", "PATCH"):
            errors["413"] = (error, _("The request body is too large."))
        if self.method == "POST":
            errors["409"] = (error, _("The Idempotency-Key was reused with a different request."))
        if self.method == "DELETE":
            errors["409"] = (error, _("Still in use; cannot be deleted."))
        if self.method == "PUT" and "/by-ref/" in self.path and "200" in responses:
            responses["201"] = {**responses["200"], "description": str(_("Created (upsert)"))}
        for code, (body, description) in errors.items():
            if code not in responses:
                responses[code] = {**body, "description": str(description)}
        return responses

    def get_override_parameters(self):
        params = list(super().get_override_parameters())
        if self.method == "POST":
            params.append(
                OpenApiParameter(
                    IDEMPOTENCY_HEADER,
                    OpenApiTypes.STR,
                    OpenApiParameter.HEADER,
                    required=False,
                    description=str(
                        _(
                            "Makes a POST safe to retry: the first answer is stored and replayed for "
                            "the same key and body; the same key with another body is a 409."
                        )
                    ),
                )
            )
        return params
