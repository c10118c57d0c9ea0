"""Benchmarks, load tests and drills live in `benchmarks/`, never in a product package (issue #13).

The product settings do not install the `benchmarks` app and the installed package does not carry it;
the benchmark settings make every benchmark command available, as docs/benchmarks.md and
docs/reliability.md run them.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

from django.conf import settings
from django.core.management import get_commands

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
BENCHMARK_COMMANDS = {
    "bench_analytics",
    "bench_api",
    "bench_worklist",
    "bench_load",
    "bench_opportunities",
    "bench_pages",
    "bench_postcards",
    "bench_reminders",
    "bench_results",
    "drill_pg_restart",
    "fault_drill",
}
ROOT = Path(settings.BASE_DIR)
# A `manage.py …` code span in the docs that runs a benchmark (or the audit benchmark script in a shell).
BENCHMARK_COMMAND_LINE = re.compile(
    r"`[^`\n]*manage\.py (?:bench_|fault_drill|drill_pg_restart|shell [^`\n]*benchmarks/)[^`\n]*`"
)


def _is_benchmark_name(name: str) -> bool:
    return name.startswith("bench_") or "drill" in name


def test_no_product_package_contains_a_benchmark_or_drill_command():
    found = [
        str(path.relative_to(ROOT))
        for package in PRODUCT_PACKAGES
        for path in (ROOT / package).rglob("management/commands/*.py")
        if _is_benchmark_name(path.stem)
    ]

    assert found == []


def test_the_product_settings_neither_install_the_benchmarks_nor_offer_their_commands():
    assert [app for app in settings.INSTALLED_APPS if app.split(".")[0] == "benchmarks"] == []
    assert sorted(name for name in get_commands() if _is_benchmark_name(name)) == []


def test_the_installed_package_carries_the_product_packages_only():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))

    assert pyproject["tool"]["setuptools"]["packages"]["find"]["include"] == [
        f"{package}*" for package in PRODUCT_PACKAGES
    ]


def test_the_benchmark_settings_provide_every_benchmark_command(benchmark_apps):
    commands = get_commands()

    assert {name: commands.get(name) for name in BENCHMARK_COMMANDS} == dict.fromkeys(
        BENCHMARK_COMMANDS, "benchmarks"
    )


def test_manage_py_lists_the_benchmark_commands_with_the_benchmark_settings_only():
    def listed(*settings_args: str) -> set[str]:
        out = subprocess.run(
            [sys.executable, "manage.py", "help", "--commands", *settings_args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        ).stdout
        return set(out.split()) & BENCHMARK_COMMANDS

    assert listed("--settings=benchmarks.settings") == BENCHMARK_COMMANDS
    assert listed() == set()


def test_every_benchmark_command_line_in_the_docs_names_the_benchmark_settings():
    """The command lines of docs/benchmarks.md, docs/reliability.md … run as written (a bare
    `bench_pages --runs 11` in the prose refers back to its section's command line)."""
    lines = [
        (doc, match.group())
        for doc in ("docs/benchmarks.md", "docs/reliability.md", "docs/privacy.md", "README.md")
        for match in BENCHMARK_COMMAND_LINE.finditer((ROOT / doc).read_text(encoding="utf-8"))
    ]

    # drill_pg_restart is documented through benchmarks/pg_restart_drill.sh, which sets the settings.
    assert {re.search(r"manage\.py (\w+)", line).group(1) for _doc, line in lines} == (
        BENCHMARK_COMMANDS - {"drill_pg_restart"} | {"shell"}
    )
    assert [(doc, line) for doc, line in lines if "--settings=benchmarks.settings" not in line] == []
    for script in ("benchmarks/load.sh", "benchmarks/pg_restart_drill.sh"):
        assert "export DJANGO_SETTINGS_MODULE=benchmarks.settings" in (ROOT / script).read_text()
