"""The benchmark commands exist only where benchmarks/settings.py installs their app."""

from __future__ import annotations

import pytest

from benchmarks import settings as benchmark_settings


@pytest.fixture
def benchmark_apps(settings):
    """INSTALLED_APPS as `--settings=benchmarks.settings` has them (the rest stays the test settings)."""
    settings.INSTALLED_APPS = benchmark_settings.INSTALLED_APPS
