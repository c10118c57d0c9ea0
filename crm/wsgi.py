import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
application = get_wsgi_application()


def _warm_up() -> None:
    """Do once, at start-up, what every process would otherwise do on its first requests: import
    every view (the URL configuration) and read the translation catalogues. Under gunicorn's
    `preload_app` (gunicorn.conf.py) it happens in the master, and the workers inherit it."""
    from django.conf import settings
    from django.urls import get_resolver
    from django.utils import translation

    get_resolver().url_patterns  # noqa: B018 - the property imports the URL modules and views
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            translation.gettext("Book your visit")


_warm_up()
