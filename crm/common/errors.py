"""The domain error of every service: a business rule refused the request.

Raised once where the rule is checked; dashboard views show its message, and the API's exception
handler (crm.api.exceptions) maps it to a 400.
"""


class ApplicationError(Exception):
    """A business rule refused the request (e.g. a handover to a user outside the tenant)."""

    def __init__(self, message, extra=None):
        super().__init__(message)
        self.message = message
        self.extra = extra or {}
