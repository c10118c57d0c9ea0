"""docker-compose.yml cannot run here (no Docker engine), so read it: it must describe the production
shape and point at modules and settings that really exist."""

import importlib
import re
from pathlib import Path

import pytest
import yaml
from django.conf import settings

ROOT = Path(settings.BASE_DIR)


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_has_the_production_services_with_health_checks(compose):
    services = compose["services"]
    assert set(services) == {"postgres", "redis", "web", "worker", "beat"}
    for name in ("postgres", "redis", "web", "worker"):
        assert services[name]["healthcheck"]["test"], name
    assert {"pgdata", "redisdata", "appdata"} <= set(compose["volumes"])
    assert services["web"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_compose_commands_point_at_real_modules(compose):
    services = compose["services"]
    web = services["web"]["command"]
    wsgi = re.search(r"gunicorn (\S+):(\w+)", web)
    assert getattr(importlib.import_module(wsgi.group(1)), wsgi.group(2))
    for name in ("worker", "beat"):
        app_module = re.search(r"celery -A (\S+)", services[name]["command"]).group(1)
        assert importlib.import_module(app_module).celery_app.main == "crm"


def test_compose_environment_uses_names_the_settings_read(compose):
    settings_source = (ROOT / "crm" / "settings.py").read_text()
    env = compose["x-app"]["environment"]
    for name in env:
        assert f'"{name}"' in settings_source, f"{name} is set in docker-compose.yml but never read"
    assert env["DATABASE_URL"].startswith("postgres://")
    assert env["CELERY_BROKER_URL"].startswith("redis://")
    assert env["DEBUG"] == "false"


def test_readme_quick_start_is_exactly_two_commands():
    readme = (ROOT / "README.md").read_text()
    quick = readme.split("## Quick start", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in quick.strip().splitlines()]
    assert commands == ["make run", "make test"]
