"""API shapes of the record chain."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from services.inspection.records.schemas import Output


class BrokenLinkOut(Output):
    sequence: int = Field(description="the first link that does not hold")
    reason: str


class ChainVerificationOut(Output):
    enterprise_uscc: str
    intact: bool
    links: int = Field(description="links read and found intact in sequence")
    head_sequence: int
    head_hash: str | None
    published_heads: int = Field(description="chain heads published (chain.head_published) and compared")
    last_published_sequence: int | None
    first_broken: BrokenLinkOut | None
    verified_at: datetime
    seconds: float


class LinkOut(Output):
    sequence: int
    kind: str
    previous_hash: str
    payload_hash: str
    link_hash: str
    corrects: int | None = Field(description="the sequence of the link this one corrects")
    created_at: datetime
    payload: str = Field(description="the payload's canonical (RFC 8785) JSON text, as hashed")
