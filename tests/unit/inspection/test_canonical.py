"""The fast canonical encoder writes exactly what the RFC 8785 reference (rfc8785) writes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from services.inspection.domain.canonical import canonical, canonical_fast, canonical_flat_rows, sha256_hex
from services.inspection.domain.records import filling_content, records_hash

scalars = st.none() | st.booleans() | st.integers(-(2**60), 2**60) | st.floats(allow_nan=False, allow_infinity=False) \
    | st.text()
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner,
                                                                                             max_size=4), max_leaves=12)


@settings(max_examples=400, deadline=None)
@given(values)
def test_fast_and_reference_agree(value):
    try:
        expected = canonical(value)
    except Exception:
        with pytest.raises(Exception):  # noqa: B017 - whatever the reference refuses, the fast path refuses
            canonical_fast(value)
        return
    assert canonical_fast(value) == expected


@pytest.mark.parametrize(("value", "text"), [
    ({"b": 1, "a": [14.0, 14.5, 1e-7, 1e21, "é\n\u2028"]}, '{"a":[14,14.5,1e-7,1e+21,"é\\n\u2028"],"b":1}'),
    ({"€": 1, "\U0001f600": 2, "\ufb01": 3}, None),  # non-BMP keys sort by UTF-16 code units
])
def test_known_encodings(value, text):
    if text is not None:
        assert canonical_fast(value).decode() == text
    assert canonical_fast(value) == canonical(value)


flat_rows = st.lists(st.dictionaries(st.text(max_size=8), scalars, max_size=6), max_size=5)


@settings(max_examples=400, deadline=None)
@given(flat_rows)
def test_the_flat_rows_path_agrees_with_the_reference(rows):
    try:
        expected = canonical(rows)
    except Exception:
        with pytest.raises(Exception):  # noqa: B017
            canonical_flat_rows(rows)
        return
    assert canonical_flat_rows(rows) == expected


@pytest.mark.parametrize("value", [2.0**53, -(2.0**53), 1e17, 1.2345678901234567e20])
def test_integral_floats_beyond_the_safe_range_are_written_as_rfc_8785_writes_them(value):
    """Found by hypothesis: 2**53 as a float came out as 9007199254740992.0."""
    assert canonical_fast({"v": value}) == rfc8785.dumps({"v": value})
    assert canonical_flat_rows([{"v": value}]) == rfc8785.dumps([{"v": value}])


optional_text = st.none() | st.text(max_size=10)
stored_records = st.lists(st.fixed_dictionaries({
    "id": st.integers(-(2**60), 2**60), "enterprise_uscc": st.text(max_size=18), "cylinder_no": st.text(max_size=10),
    "medium": st.text(max_size=5), "pre_check_passed": st.booleans(), "post_check_passed": st.booleans(),
    # UTC itself, another zero offset, a fixed one and a zone with a history: each way to UTC the template takes
    "filled_at": st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(0), "Z"), timezone(timedelta(hours=8)),
                                                         ZoneInfo("Asia/Shanghai")])),
    "operator_cert_no": optional_text, "checker_cert_no": optional_text, "scale_id": optional_text,
    "filled_mass_kg": st.floats(allow_nan=False, allow_infinity=False) | st.integers(0, 100),
}), max_size=4)


@settings(max_examples=400, deadline=None)
@given(stored_records)
def test_the_records_hash_template_agrees_with_the_reference(rows):
    """The template ingest seals a thousand records with gives the reference's bytes, or the
    reference's refusal."""
    try:
        expected = sha256_hex(canonical([filling_content(r) for r in rows]))
    except Exception:
        with pytest.raises(Exception):  # noqa: B017
            records_hash(rows)
        return
    assert records_hash(rows) == expected


def test_a_lone_surrogate_in_a_record_is_refused_as_the_reference_refuses_it():
    row = {"id": 1, "enterprise_uscc": "u", "cylinder_no": "C\ud800", "medium": "LPG", "pre_check_passed": True,
           "post_check_passed": True, "filled_at": datetime(2026, 6, 15, tzinfo=UTC), "operator_cert_no": None,
           "checker_cert_no": None, "scale_id": None, "filled_mass_kg": 14.5}
    with pytest.raises(Exception):  # noqa: B017
        canonical([filling_content(row)])
    with pytest.raises(Exception):  # noqa: B017
        records_hash([row])
