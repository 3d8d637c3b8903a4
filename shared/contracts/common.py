"""Field types every contract shares."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.vocabulary import MANAGEMENT_KEYS, Grade, ManagementKey

__all__ = ["MANAGEMENT_KEYS", "USCC_PATTERN", "EventData", "Grade", "ManagementKey", "Uscc"]

# The USCC alphabet and length (GB 32100-2015; the check digit is the registry's rule), for
# OpenAPI path and query parameters: the one spelling every service uses.
USCC_PATTERN = r"^[0-9A-HJ-NPQRTUWXY]{18}$"

Uscc = Annotated[str, Field(min_length=18, max_length=18, description="unified social credit code (GB 32100-2015)")]


class EventData(BaseModel):
    """Base of every event's data: readers ignore fields they do not know (forward compatible)."""

    model_config = ConfigDict(extra="ignore", frozen=True)
