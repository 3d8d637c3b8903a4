"""API shapes of photo blobs."""

from __future__ import annotations

import datetime as dt

from services.inspection.records.schemas import Output


class BlobOut(Output):
    sha256: str
    enterprise_uscc: str
    size: int
    content_type: str
    uploaded_by: str
    uploaded_at: dt.datetime
    url: str
