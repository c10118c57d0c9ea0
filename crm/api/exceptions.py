"""The API's errors, and the single mapping of domain errors to HTTP (the EXCEPTION_HANDLER setting).

Every error body is JSON: `{"detail": "..."}` for request-level errors, or `{"field": ["message", ...]}`
for invalid input. Messages are translated to the request's language (Accept-Language / the
language cookie), because model and service messages are marked with gettext.
"""

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.http.request import RawPostDataException
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.settings import api_settings
from rest_framework.views import APIView, exception_handler, status

from crm.common.errors import ApplicationError
from crm.tenancy.scoping import UnscopedQueryError


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = _("The request body is too large.")
    default_code = "request_too_large"


class InUseConflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("This is still in use (e.g. a template used by a rule) and cannot be deleted.")
    default_code = "in_use"


class IdempotencyConflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("This Idempotency-Key was already used with a different request.")
    default_code = "idempotency_conflict"


class IdempotencyInProgress(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("A request with this Idempotency-Key is still being processed; retry later.")
    default_code = "idempotency_in_progress"


def _django_validation_detail(exc: DjangoValidationError):
    """Model/service validation errors as DRF field errors; `__all__` becomes `non_field_errors`."""
    detail = as_serializer_error(exc)
    if isinstance(detail, dict) and "__all__" in detail:
        detail[api_settings.NON_FIELD_ERRORS_KEY] = detail.pop("__all__")
    return detail


def api_exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(_django_validation_detail(exc))
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    if isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, RawPostDataException):
        exc = exceptions.ParseError(_("The request body could not be read."))
    if isinstance(exc, UnscopedQueryError):
        # A programming error, never a client's: fail closed without revealing anything.
        raise exc
    if isinstance(exc, ApplicationError):
        return Response({"detail": exc.message, **exc.extra}, status=status.HTTP_400_BAD_REQUEST)
    return exception_handler(exc, context)


class UnknownEndpoint(APIView):
    """Every path under /api/v1/ that no route matches: a JSON 404 like the API's own, not Django's HTML page.

    An integration parses every answer of the API as JSON; a by-ref id longer than the route allows, or a
    typo in a path, must not hand it an HTML document.
    """

    authentication_classes: list = []
    permission_classes: list = []
    schema = None  # not an operation of the API

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        raise exceptions.NotFound()
