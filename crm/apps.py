from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = _("Kizuna platform")

    def ready(self):
        from crm import audit  # noqa: F401  (connects the tenant-deletion receiver of the audit trail)
        from crm import checks  # noqa: F401  (registers the row-level-security checks)
