"""The catalogue: every event type the platform publishes, as an explicit list, and the AsyncAPI
3.0 document generated from it (served at ``/asyncapi.json``, written by ``safegrid events docs``).
A new event type is declared in its producer's contract module and added to that module's
``EVENTS``; a test holds every declared spec to this list."""

from __future__ import annotations

from typing import Any

from shared.contracts import enforcement, inspection, portal, registry, scoring
from shared.events.spec import EventSpec
from shared.events.topics import TOPICS

EVENT_SPECS: tuple[EventSpec[Any], ...] = (*registry.EVENTS, *inspection.EVENTS, *scoring.EVENTS, *enforcement.EVENTS,
                                        *portal.EVENTS)


def catalogue() -> dict[str, EventSpec[Any]]:
    """Every event type by name; a type declared twice is refused."""
    by_type: dict[str, EventSpec[Any]] = {}
    for spec in EVENT_SPECS:
        if spec.type in by_type:
            raise ValueError(f"event type {spec.type!r} declared twice")
        by_type[spec.type] = spec
    return dict(sorted(by_type.items()))


def spec_for(event_type: str) -> EventSpec[Any] | None:
    return catalogue().get(event_type)


def asyncapi_document(version: str = "1.0.0") -> dict[str, Any]:
    """The catalogue as an AsyncAPI 3.0 document: a channel per topic, a message per type."""
    specs = catalogue()
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    components: dict[str, Any] = {"messages": {}, "schemas": {}}
    for topic in TOPICS:
        messages = {
            s.type.replace(".", "_"): {"$ref": f"#/components/messages/{s.type.replace('.', '_')}"}
            for s in specs.values()
            if s.topic == topic
        }
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
