"""Field types every contract shares."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.vocabulary import MANAGEMENT_KEYS, Grade, ManagementKey

__all__ = ["MANAGEMENT_KEYS", "USCC_CHARSET", "USCC_PATTERN", "EventData", "Grade", "ManagementKey", "Uscc"]

# The characters of a unified social credit code (GB 32100-2015: no I, O, S, V, Z), and the
# pattern of a whole code, for OpenAPI path and query parameters (its check digit is the
# registry's to verify).
USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_PATTERN = r"^[0-9A-HJ-NPQRTUWXY]{18}$"

Uscc = Annotated[str, Field(min_length=18, max_length=18, description="unified social credit code (GB 32100-2015)")]


class EventData(BaseModel):
    """Base of every event's data: readers ignore fields they do not know (forward compatible)."""

    model_config = ConfigDict(extra="ignore", frozen=True)
