"""The inspection settings: per-city cut-off times come from the environment as JSON, cities only."""

from __future__ import annotations

from datetime import time

import pytest
from pydantic import ValidationError

from services.inspection.config import Settings


def test_cutoff_times_per_city_are_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("SAFEGRID_INSPECTION_CUTOFF_AT_BY_CITY", '{"371100": "20:30"}')
    settings = Settings()
    assert settings.cutoff_at_by_city == {"371100": time(20, 30)}
    assert (settings.cutoff_time_for("371103"), settings.cutoff_time_for("370102")) == (time(20, 30), time(21))


@pytest.mark.parametrize("code", ["371102", "370000", "3711", "37110x"])
def test_only_city_codes_may_name_a_cutoff_time(code):
    with pytest.raises(ValidationError, match="not city division codes"):
        Settings(cutoff_at_by_city={code: "20:00"})
