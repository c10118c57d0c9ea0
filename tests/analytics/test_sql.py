"""The portable SQL helpers' PostgreSQL-only parts: per-block planner settings."""

import pytest
from django.db import connection, transaction

from analytics.sql import planner_settings


def _setting(name: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting(%s)", [name])
        return cursor.fetchone()[0]


@pytest.mark.postgres
@pytest.mark.django_db
def test_planner_settings_apply_inside_the_block_and_come_back_after_it():
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL work_mem = '7MB'")
        with planner_settings(enable_sort="off", work_mem="9MB"):
            assert (_setting("enable_sort"), _setting("work_mem")) == ("off", "9MB")
        # The values from before the block, including one the transaction had set itself.
        assert (_setting("enable_sort"), _setting("work_mem")) == ("on", "7MB")


@pytest.mark.postgres
@pytest.mark.django_db
def test_planner_settings_come_back_when_the_block_fails():
    with transaction.atomic():
        with pytest.raises(ZeroDivisionError), planner_settings(enable_sort="off"):
            1 / 0  # noqa: B018
        assert _setting("enable_sort") == "on"
