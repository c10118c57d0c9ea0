"""The layout's promises (docs/architecture.md), checked so they cannot silently regress.

The import layering is import-linter's contract in pyproject.toml, run by `make lint`; these tests show
that it passes on the tree and fails on a deliberate violation.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCT_PACKAGES = [
    "crm",
    "customers",
    "interactions",
    "channels",
    "reminders",
    "analytics",
    "bookings",
    "results",
    "opportunities",
    "workspace",
]
MAX_PRODUCT_FILE_LINES = 600
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _product_files():
    for package in PRODUCT_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def _lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(cwd / "pyproject.toml")],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_tree_keeps_its_layers():
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 1 kept, 0 broken." in result.stdout


@pytest.mark.parametrize(
    ("module", "source", "broken"),
    [
        # An app importing one above it, at module level.
        (
            "customers/_violation.py",
            "import analytics.models\n",
            "customers is not allowed to import analytics",
        ),
        # The core importing an app inside a function (a "lazy" import dodges cycles, not the contract).
        (
            "crm/_violation.py",
            "def f():\n    from reminders.models import Reminder\n\n    return Reminder\n",
            "crm is not allowed to import reminders",
        ),
        # Siblings in one layer are independent.
        (
            "reminders/_violation.py",
            "from analytics import kpi\n",
            "reminders is not allowed to import analytics",
        ),
    ],
)
def test_lint_fails_on_an_import_that_breaks_the_layering(tmp_path, module, source, broken):
    for package in PRODUCT_PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    assert _lint_imports(tmp_path).returncode == 0  # the copy alone is clean

    (tmp_path / module).write_text(source)
    result = _lint_imports(tmp_path)

    assert result.returncode != 0
    assert broken in result.stdout


def test_no_product_module_hedges_an_import():
    hedges = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in _product_files()
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"except\s+\(?\s*(ImportError|ModuleNotFoundError)", line)
    ]
    assert hedges == []


def test_no_product_file_is_over_the_size_of_one_concern():
    long_files = {
        str(path.relative_to(ROOT)): n
        for path in _product_files()
        if (n := len(path.read_text().splitlines())) > MAX_PRODUCT_FILE_LINES
    }
    assert long_files == {}


def test_apps_register_with_the_lower_layers_once_however_often_ready_runs():
    """`ready()` runs again whenever a test or command re-populates the app registry."""
    from django.apps import apps

    from customers import privacy, segments

    source, parts = segments.segment_source(), privacy._parts.copy()
    for config in apps.get_app_configs():
        config.ready()
    assert segments.segment_source() == source and source is not None
    # Every app that keeps personal data beside the customer record (it has a privacy module) takes part,
    # each part once.
    holders = {
        c.name
        for c in apps.get_app_configs()
        if c.name != "customers" and (Path(c.path) / "privacy.py").exists()
    }
    assert privacy._parts == parts and len(set(parts)) == len(parts)
    assert {part.export.__module__.split(".")[0] for part in parts} == holders
