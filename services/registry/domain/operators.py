"""Rules of operators (作业人员): certificates, and ID numbers kept only as a keyed hash."""

from __future__ import annotations

import hashlib
import hmac
from datetime import date
from typing import Any

from stdnum.cn import ric as resident_id
from stdnum.exceptions import ValidationError as StdnumError

from services.registry.domain.dates import future_violation, order_violation
from services.registry.domain.violations import Violation
from shared.contracts.vocabulary import CERTIFICATE_CATEGORIES


def certificate_category_violation(code: str, field: str = "certificate_category") -> Violation | None:
    if code in CERTIFICATE_CATEGORIES:
        return None
    return Violation(field, f"unknown certificate category {code!r}; one of {', '.join(CERTIFICATE_CATEGORIES)}")


def certificate_expired(active: bool, valid_until: date | None, today: date) -> bool:
    return active and valid_until is not None and valid_until < today


def operator_violations(values: dict[str, Any], today: date) -> list[Violation | None]:
    certificate_no = values.get("certificate_no")
    return [
        id_number_violation(values["id_number"]) if values.get("id_number") else None,
        certificate_category_violation(values["certificate_category"]) if values.get("certificate_category") else None,
        Violation("certificate_category", "a certificate needs its category")
        if certificate_no and not values.get("certificate_category") else None,
        Violation("certificate_valid_until", "a certificate needs its expiry date")
        if certificate_no and not values.get("certificate_valid_until") else None,
        future_violation(values.get("certificate_issued_date"), today, "certificate_issued_date"),
        order_violation(values.get("certificate_issued_date"), values.get("certificate_valid_until"),
                        "certificate_issued_date", "certificate_valid_until"),
    ]


def id_number_violation(id_number: str, field: str = "id_number") -> Violation | None:
    """Mainland resident ID numbers (居民身份证, 18 characters) are checked fully; other documents
    (passports, permits) only for a sane shape."""
    value = id_number.strip().upper()
    if len(value) == 18 and value[:17].isdigit():
        try:
            resident_id.validate(value)
        except StdnumError:
            return Violation(field, "not a valid resident identity card number (check digit or birth date)")
        return None
    if not (5 <= len(value) <= 30 and value.isalnum()):
        return Violation(field, "must be a resident ID number or a 5-30 character document number")
    return None


def hash_id_number(id_number: str, key: str) -> str:
    """ID numbers are kept only as a keyed hash (HMAC-SHA256 with a secret salt): enough to find
    the same person twice, useless to whoever reads the table without the key."""
    return hmac.new(key.encode(), id_number.strip().upper().encode(), hashlib.sha256).hexdigest()
