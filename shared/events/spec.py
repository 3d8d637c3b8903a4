"""What an event type is: ``safegrid.<service>.<aggregate>.<past-tense-verb>.v<N>`` on the topic
of its producing service, with the pydantic model of its data. Producers declare their specs in
``shared/contracts/<service>.py``; ``shared/contracts/catalogue.py`` lists them all."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from shared.events.topics import TOPICS

DataT = TypeVar("DataT", bound=BaseModel)

TYPE_PATTERN = re.compile(
    r"^safegrid\.(?P<service>[a-z]+)\.(?P<aggregate>[a-z_]+)\.(?P<verb>[a-z_]+)\.v(?P<version>\d+)$"
)


@dataclass(frozen=True)
class EventSpec(Generic[DataT]):
    """One event type: ``safegrid.<service>.<aggregate>.<past-tense-verb>.v<N>``."""

    type: str
    topic: str
    data_model: type[DataT]
    summary: str

    def __post_init__(self) -> None:
        match = TYPE_PATTERN.match(self.type)
        if not match:
            raise ValueError(f"event type {self.type!r} does not follow safegrid.<service>.<aggregate>.<verb>.vN")
        if self.topic not in TOPICS:
            raise ValueError(f"event type {self.type!r} names unknown topic {self.topic!r}")
        if not self.topic.startswith(match["service"] + "."):
            raise ValueError(f"{self.type!r} is published by {match['service']} but names topic {self.topic!r}")

    @property
    def service(self) -> str:
        return self.type.split(".")[1]

    @property
    def source(self) -> str:
        return f"/safegrid/{self.service}"

    def json_schema(self) -> dict[str, Any]:
        schema = self.data_model.model_json_schema()
        schema["$id"] = f"urn:safegrid:event:{self.type}"
        schema.setdefault("title", self.data_model.__name__)
        return schema
