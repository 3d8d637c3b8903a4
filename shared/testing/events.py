"""Events as a broker hands them to a consumer runner, for tests and benchmarks that feed a
service's runner directly (``runner.process(record)`` or ``runner.process_batch(records)``)."""

from __future__ import annotations

from typing import Any

from aiokafka.structs import ConsumerRecord

from shared.events.envelope import OutgoingEvent, to_kafka
from shared.events.spec import EventSpec


def subject_of(data: dict[str, Any]) -> str:
    """The key the platform's producers give an event: the unit's USCC (or the grid's code)."""
    return data.get("uscc") or data.get("enterprise_uscc") or data["grid_code"]


def consumer_record(spec: EventSpec[Any], data: dict[str, Any], *, offset: int = 0, subject: str | None = None,
                    **attributes: Any) -> ConsumerRecord:
    """``data`` as the CloudEvent ``spec`` names, in the record a fetch returns; ``attributes``
    are the envelope's own (``id``, ``time``, ``correlation_id``…), left out to take their defaults."""
    subject = subject or subject_of(data)
    event = OutgoingEvent(type=spec.type, source=spec.source, subject=subject, data=data,
                          **{k: v for k, v in attributes.items() if v is not None})
    return raw_record(spec.topic, subject, event.attributes(), data, offset=offset)


def event_id_of(record: ConsumerRecord) -> str:
    return dict(record.headers)["ce_id"].decode()


def raw_record(topic: str, key: str, attributes: dict[str, Any], data: Any, *, offset: int = 0) -> ConsumerRecord:
    """A record of the given envelope attributes and data, whatever they hold (malformed ones too)."""
    message = to_kafka(attributes, data, key)
    return ConsumerRecord(topic=topic, partition=0, offset=offset, timestamp=0, timestamp_type=0, key=key.encode(),
                          value=message.value, checksum=None, serialized_key_size=len(key),
                          serialized_value_size=len(message.value), headers=list(message.headers.items()))
