"""Corrections of filling records (充装记录更正): a correction is a new version of a fill, never an
edit of the old one. It names the version it corrects; the fill's versions form a line (only the
current version may be corrected), and the chain seals each correction as a link of its own.

Pure rules: what a correction may change, what it changed, which anomalies it raises anew (what
the version it replaces did not show) and which it clears, with the version that raised each."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from services.inspection.domain.chain import timestamp_text
from services.inspection.domain.records import filling_content

FILLING_CORRECTION = "filling_correction"  # the chain link kind of one correction
# What a correction may change: everything the filling-scale system reported but the enterprise
# (a record belongs to its enterprise's chain; a fill recorded for the wrong one is not corrected
# into another's).
CORRECTABLE = ("cylinder_no", "medium", "filled_at", "pre_check_passed", "post_check_passed", "operator_cert_no",
               "checker_cert_no", "filled_mass_kg", "scale_id")
FILL_KEY = ("cylinder_no", "filled_at")  # with the enterprise: what makes two records one fill


def corrected(held: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """The correctable fields of the new version: the changes over what the held version says."""
    unknown = set(changes) - set(CORRECTABLE)
    if unknown:
        raise ValueError(f"not correctable: {sorted(unknown)}")
    return {name: changes.get(name, held[name]) for name in CORRECTABLE}


def changed_fields(held: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """The fields whose values differ (moments compare as instants, whatever their offset)."""
    return [name for name in CORRECTABLE if new[name] != held[name]]


def anomaly_kinds(lines: str) -> list[str]:
    """The kinds of a stored ``anomalies`` text ("kind:severity:detail" per line)."""
    return [line.split(":", 1)[0] for line in lines.splitlines()]


def lines_to_raise(found: str, previous: str) -> list[str]:
    """The anomaly lines of the corrected content whose kind the version it replaces (its
    ``anomalies``, ``previous``) did not show: those get an anomaly_detected event. A condition
    the fill still shows is not raised twice; one a correction cleared and a later one shows
    again is (its alert may have been resolved by the clearing)."""
    before = set(anomaly_kinds(previous))
    return [line for line in found.splitlines() if line.split(":", 1)[0] not in before]


def cleared_kinds(previous: str, found: str) -> list[str]:
    """The anomaly kinds the corrected version had that the correction no longer shows."""
    now = set(anomaly_kinds(found))
    return [kind for kind in anomaly_kinds(previous) if kind not in now]


def raised_by_version(versions: Sequence[Mapping[str, Any]], kind: str) -> Any:
    """The id of the version whose anomaly_detected raised the ``kind`` the last of ``versions``
    (in order) shows: the first of the unbroken run of versions showing it that ends there (see
    ``lines_to_raise``); None when the last version does not show it."""
    raiser = None
    for version in versions:
        shows = kind in anomaly_kinds(version["anomalies"])
        raiser = (raiser if raiser is not None else version["id"]) if shows else None
    return raiser


CORRECTION_SEALED = ("batch_id", "version", "corrects_id", "original_id", "correction_reason", "corrected_by")


def correction_content(row: Mapping[str, Any]) -> dict[str, Any]:
    """What of a correction the chain seals: the record's content as for an upload, and the
    correction itself (which version it replaces, why, who, when)."""
    content = filling_content(row)
    content.update({name: row[name] for name in CORRECTION_SEALED})
    content["received_at"] = timestamp_text(row["received_at"])
    return content
