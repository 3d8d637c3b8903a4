"""The catalogue of event types: each type names its topic and the pydantic model of its data,
from which its JSON Schema and the AsyncAPI document are generated.

Producers declare an ``EventSpec`` next to the data model in ``shared/contracts``; the catalogue
is just every spec those modules declare, so adding an event is one declaration.
"""

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

_CATALOGUE: dict[str, EventSpec[Any]] = {}


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
        if self.type in _CATALOGUE and _CATALOGUE[self.type] is not self:
            raise ValueError(f"event type {self.type!r} declared twice")
        _CATALOGUE[self.type] = self

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


def catalogue() -> dict[str, EventSpec[Any]]:
    """Every declared event type, after importing all contract modules."""
    import shared.contracts  # noqa: F401  (declares the specs)

    return dict(sorted(_CATALOGUE.items()))


def spec_for(event_type: str) -> EventSpec[Any] | None:
    return catalogue().get(event_type)


def asyncapi_document(version: str = "1.0.0") -> dict[str, Any]:
    """The catalogue as an AsyncAPI 3.0 document: a channel per topic, a message per type."""
    specs = catalogue()
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    components: dict[str, Any] = {"messages": {}, "schemas": {}}
    for topic in TOPICS:
        messages = {s.type.replace(".", "_"): {"$ref": f"#/components/messages/{s.type.replace('.', '_')}"}
                    for s in specs.values() if s.topic == topic}
        if not messages:
            continue
        channel_id = topic.replace(".", "_")
        channels[channel_id] = {"address": topic, "messages": messages}
        operations[f"publish_{channel_id}"] = {"action": "send", "channel": {"$ref": f"#/channels/{channel_id}"}}
    for spec in specs.values():
        name = spec.type.replace(".", "_")
        components["schemas"][name] = spec.json_schema()
        components["messages"][name] = {
            "name": spec.type,
            "summary": spec.summary,
            "contentType": "application/json",
            "bindings": {"kafka": {"key": {"type": "string", "description": "enterprise USCC"}}},
            "headers": CLOUDEVENTS_HEADERS_SCHEMA,
            "payload": {"$ref": f"#/components/schemas/{name}"},
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "safegrid events",
            "version": version,
            "description": "CloudEvents 1.0 in Kafka binary content mode; key = enterprise USCC.",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": components,
    }


CLOUDEVENTS_HEADERS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["ce_id", "ce_source", "ce_type", "ce_specversion", "ce_subject", "ce_time", "ce_correlationid"],
    "properties": {
        "ce_id": {"type": "string", "format": "uuid"},
        "ce_source": {"type": "string", "description": "/safegrid/<service>"},
        "ce_type": {"type": "string"},
        "ce_specversion": {"const": "1.0"},
        "ce_subject": {"type": "string", "description": "enterprise USCC"},
        "ce_time": {"type": "string", "format": "date-time"},
        "ce_correlationid": {"type": "string", "description": "id of the first event of the chain"},
        "ce_causationid": {"type": "string", "description": "id of the event that directly caused this one"},
        "ce_traceparent": {"type": "string", "description": "W3C trace context"},
        "content-type": {"const": "application/json"},
    },
}
