from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = _("Kizuna platform")

    def ready(self):
        # audit: the tenant-deletion receiver of the audit trail; checks: the row-level-security checks.
        from crm.security import audit  # noqa: F401
        from crm.tenancy import checks  # noqa: F401
