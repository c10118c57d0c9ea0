"""The postcards benchmark runs end to end on a few cards and leaves nothing behind."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from benchmarks.management.commands.bench_postcards import Command
from crm.models import Tenant
from reminders.models import PrintBatch

pytestmark = pytest.mark.django_db


def test_bench_postcards_builds_prints_and_cleans_up():
    out = io.StringIO()
    call_command(Command(), cards=4, stdout=out)
    text = out.getvalue()
    assert "cards: 4 (problems 0)" in text
    assert "reprint identical: True" in text
    assert "peak RSS" in text
    assert not Tenant.objects.filter(slug__startswith="bench-postcards-").exists()
    assert not PrintBatch.objects.unscoped().exists()  # across shops: the bench shop took its batch along
