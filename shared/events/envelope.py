"""The CloudEvents 1.0 envelope in Kafka binary content mode (contract.md §4).

Attributes travel as ``ce_*`` headers, the JSON data as the value, the enterprise USCC as the
key. The ``cloudevents`` SDK does the header mapping; this module adds the platform's
extensions (correlation, causation, W3C trace context) and a typed view for handlers.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from cloudevents.core.bindings import kafka as ce_kafka
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from pydantic import BaseModel

from shared.db import new_uuid

ModelT = TypeVar("ModelT", bound=BaseModel)

CONTENT_TYPE = "application/json"
CONTENT_FORMAT = JSONFormat()  # what ``to_binary_event`` writes the data with


def new_traceparent(trace_id: str | None = None) -> str:
    """A W3C traceparent for a new span, in a new trace unless one is given."""
    return f"00-{trace_id or os.urandom(16).hex()}-{os.urandom(8).hex()}-01"


def new_traceparents(n: int, trace_id: str | None = None) -> list[str]:
    """``n`` of ``new_traceparent(trace_id)`` from one read of the system's randomness."""
    spans = os.urandom(8 * n).hex()
    if trace_id:
        return [f"00-{trace_id}-{spans[k:k + 16]}-01" for k in range(0, 16 * n, 16)]
    traces = os.urandom(16 * n).hex()
    return [f"00-{traces[2 * k:2 * k + 32]}-{spans[k:k + 16]}-01" for k in range(0, 16 * n, 16)]


def event_attributes(event_id: str, source: str, event_type: str, subject: str, time: str, correlation_id: str,
                     causation_id: str | None, traceparent: str) -> dict[str, str]:
    """The CloudEvents attributes and the platform's extensions of an event, as the outbox keeps
    them (``time`` in ISO 8601; an empty correlation id makes the event its own correlation)."""
    attrs = {
        "id": event_id,
        "source": source,
        "type": event_type,
        "subject": subject,
        "time": time,
        "datacontenttype": CONTENT_TYPE,
        "correlationid": correlation_id or event_id,
        "traceparent": traceparent,
    }
    if causation_id:
        attrs["causationid"] = causation_id
    return attrs


def trace_id_of(traceparent: str | None) -> str | None:
    parts = (traceparent or "").split("-")
    return parts[1] if len(parts) == 4 and len(parts[1]) == 32 else None


@dataclass(frozen=True)
class OutgoingEvent:
    """An event about to be written to the outbox."""

    type: str
    source: str
    subject: str
    data: dict[str, Any]
    id: str = field(default_factory=new_uuid)
    time: datetime = field(default_factory=lambda: datetime.now(UTC))
    correlation_id: str = ""
    causation_id: str | None = None
    traceparent: str = ""

    def attributes(self) -> dict[str, str]:
        return event_attributes(self.id, self.source, self.type, self.subject, self.time.isoformat(),
                                self.correlation_id, self.causation_id, self.traceparent or new_traceparent())


def to_kafka(attributes: dict[str, str], data: dict[str, Any], key: str | None) -> ce_kafka.KafkaMessage:
    attrs: dict[str, Any] = dict(attributes)
    attrs["time"] = datetime.fromisoformat(attrs["time"])
    event = CloudEvent(attributes=attrs, data=data)
    return ce_kafka.to_binary_event(event, key_mapper=lambda _e: key)


# The attributes the platform writes (``OutgoingEvent.attributes``), by header name: those
# ``kafka_headers`` maps itself. Any other takes the SDK's path, which validates it (or refuses it).
_HEADER_NAMES = {name: "content-type" if name == "datacontenttype" else f"ce_{name}" for name in (
    "id", "source", "type", "subject", "time", "datacontenttype", "correlationid", "causationid", "traceparent")}
_REQUIRED = frozenset({"id", "source", "type", "time"})
_SPECVERSION = ("ce_specversion", b"1.0")


def _time_header(value: str) -> bytes:
    """``value`` as the SDK writes it (parsed, then ``isoformat`` with Z for UTC). Parsing is
    cheap and ``isoformat`` is not, so a string already in the form ``isoformat`` writes for UTC
    (what ``OutgoingEvent`` stores) is only checked."""
    moment = datetime.fromisoformat(value)
    if value.endswith("+00:00") and value[10] == "T" and value[4] == value[7] == "-" and value[13] == value[16] == ":" \
            and (len(value) == 25 or len(value) == 32 and value[19] == "." and moment.microsecond):
        return (value[:-6] + "Z").encode()
    text = moment.isoformat()
    return (text[:-6] + "Z" if text.endswith("+00:00") else text).encode()


def kafka_headers(attributes: dict[str, Any]) -> list[tuple[str, bytes]]:
    """The headers ``to_kafka`` makes of ``attributes`` (same names, values and order), for the
    relay's hot path: an outbox row's attributes are the platform's own, so mapping them needs no
    CloudEvent object. Attributes of another shape go through the SDK, which raises for invalid ones."""
    if "" not in attributes.values() and attributes.keys() >= _REQUIRED:
        try:
            headers = [(_HEADER_NAMES[name], value.encode() if name != "time" else _time_header(value))
                       for name, value in attributes.items()]
        except (KeyError, AttributeError, TypeError):  # another attribute, or a value that is no string
            pass
        else:
            headers.append(_SPECVERSION)
            return headers
    attrs: dict[str, Any] = dict(attributes)
    if isinstance(attrs.get("time"), str):
        attrs["time"] = datetime.fromisoformat(attrs["time"])
    return list(ce_kafka.to_binary_event(CloudEvent(attributes=attrs, data=None)).headers.items())


def kafka_value(data_json: str) -> bytes:
    """The value ``to_kafka`` makes of the data whose JSON is ``data_json`` as ``json.dumps``
    wrote it (the outbox's JSON column stores it so): those very bytes, without parsing and
    writing the data again. Anything but an object takes the SDK's path."""
    if data_json[:1] == "{":
        return data_json.encode()
    return CONTENT_FORMAT.write_data(json.loads(data_json), CONTENT_TYPE)


class MalformedEvent(ValueError):
    """A message that is not a CloudEvent this platform can read: a poison message."""


@dataclass(frozen=True)
class ReceivedEvent:
    """What a consumer handler gets: the attributes, the data, and where it came from."""

    id: str
    type: str
    source: str
    subject: str | None
    time: datetime | None
    data: dict[str, Any]
    correlation_id: str
    causation_id: str | None
    traceparent: str | None
    topic: str = ""
    partition: int = 0
    offset: int = 0

    def parse(self, model: type[ModelT]) -> ModelT:
        return model.model_validate(self.data)

    @classmethod
    def from_kafka(
        cls, headers: list[tuple[str, bytes]] | None, key: bytes | None, value: bytes | None,
        *, topic: str = "", partition: int = 0, offset: int = 0,
    ) -> ReceivedEvent:
        header_map = {name: raw for name, raw in (headers or []) if raw is not None}
        if "ce_id" not in header_map or "ce_type" not in header_map:
            raise MalformedEvent("missing ce_id or ce_type header: not a CloudEvent in binary mode")
        try:
            event = ce_kafka.from_binary_event(
                ce_kafka.KafkaMessage(headers=header_map, key=key, value=value or b"null")
            )
        except (ValueError, TypeError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise MalformedEvent(f"unreadable CloudEvent: {exc}") from exc
        except Exception as exc:  # the SDK raises its own error classes for spec violations
            raise MalformedEvent(f"invalid CloudEvent: {exc}") from exc
        data = event.get_data()
        if not isinstance(data, dict):
            raise MalformedEvent("event data must be a JSON object")
        attrs = event.get_attributes()
        return cls(
            id=event.get_id(),
            type=event.get_type(),
            source=event.get_source(),
            subject=event.get_subject(),
            time=event.get_time(),
            data=data,
            correlation_id=attrs.get("correlationid") or event.get_id(),
            causation_id=attrs.get("causationid"),
            traceparent=attrs.get("traceparent"),
            topic=topic,
            partition=partition,
            offset=offset,
        )
