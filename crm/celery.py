import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")

app = Celery("crm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.after_setup_logger.connect
@signals.after_setup_task_logger.connect
def _redact_personal_data(logger, **kwargs):
    """A worker installs its own log handlers: keep personal data out of them too
    (crm/security/logredact.py)."""
    from crm.security.logredact import install_on

    install_on(logger)
