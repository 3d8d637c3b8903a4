"""``AwareDateTime``'s one-call SQLite bind processor writes exactly the text of the general path
(``process_bind_param``, then SQLite's DATETIME), and refuses what it refuses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import TypeDecorator
from sqlalchemy.dialects import sqlite

from shared.db import AwareDateTime

DIALECT = sqlite.dialect()
FAST = AwareDateTime().dialect_impl(DIALECT).bind_processor(DIALECT)
GENERAL = TypeDecorator.bind_processor(AwareDateTime().dialect_impl(DIALECT), DIALECT)  # what the override replaces
ZONES = st.sampled_from([UTC, timezone(timedelta(0), "Z"), timezone(timedelta(hours=8)),
                         timezone(-timedelta(hours=3, minutes=30)), ZoneInfo("Asia/Shanghai")])


@settings(max_examples=500, deadline=None)
@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=ZONES))
def test_the_sqlite_text_is_the_general_paths(moment: datetime) -> None:
    assert FAST(moment) == GENERAL(moment)


def test_none_and_naive_datetimes_as_the_general_path() -> None:
    assert FAST(None) is GENERAL(None) is None
    for processor in (FAST, GENERAL):
        with pytest.raises(ValueError, match="naive"):
            processor(datetime(2026, 6, 15))
