"""Which anomalies a correction raises, and which version raised each one it clears."""

from __future__ import annotations

import pytest

from services.inspection.domain.corrections import cleared_kinds, lines_to_raise, raised_by_version


def version(record_id: int, *kinds: str) -> dict[str, object]:
    return {"id": record_id, "anomalies": "\n".join(f"{k}:general:detail" for k in kinds)}


@pytest.mark.parametrize(("previous", "found", "raised"), [
    ((), ("night_fill",), ["night_fill"]),
    (("night_fill",), ("night_fill", "failed_pre_check"), ["failed_pre_check"]),  # still shown: not again
    (("night_fill",), (), []),
])
def test_a_correction_raises_what_the_version_it_replaces_did_not_show(previous, found, raised):
    lines = lines_to_raise(version(0, *found)["anomalies"], version(0, *previous)["anomalies"])
    assert [line.split(":", 1)[0] for line in lines] == raised


@pytest.mark.parametrize(("history", "kind", "raiser"), [
    ([(1, "night_fill"), (2, "night_fill")], "night_fill", 1),  # shown throughout: the upload raised it
    ([(1,), (2, "night_fill"), (3, "night_fill")], "night_fill", 2),  # a correction brought it
    ([(1, "night_fill"), (2,), (3, "night_fill")], "night_fill", 3),  # cleared, then back: raised again
    ([(1, "night_fill"), (2,)], "night_fill", None),  # the last version does not show it
], ids=["upload", "correction", "back-again", "not-shown"])
def test_the_raiser_of_a_kind_is_the_first_of_its_unbroken_run(history, kind, raiser):
    versions = [version(record_id, *kinds) for record_id, *kinds in history]
    assert raised_by_version(versions, kind) == raiser


def test_cleared_kinds_are_those_the_corrected_version_no_longer_shows():
    assert cleared_kinds(version(1, "night_fill", "failed_pre_check")["anomalies"],
                         version(2, "failed_pre_check")["anomalies"]) == ["night_fill"]
