"""Tables of the inspection service."""

from sqlalchemy.orm import DeclarativeBase

from shared.db import PlatformTables, new_metadata


class Base(DeclarativeBase):
    metadata = new_metadata()


platform = PlatformTables(Base.metadata)
