import json
from datetime import UTC, datetime, timedelta, timezone

import jsonschema
import pytest
from pydantic import BaseModel

from shared.contracts.catalogue import EVENT_SPECS, asyncapi_document, catalogue
from shared.events.envelope import MalformedEvent, OutgoingEvent, ReceivedEvent, kafka_headers, kafka_value, to_kafka
from shared.events.spec import EventSpec


def test_an_event_round_trips_through_kafka_binary_mode():
    event = OutgoingEvent(type="safegrid.registry.enterprise.registered.v1", source="/safegrid/registry",
                          subject="91371102MA3C5K0X1Q", data={"name": "东港区某街道液化气站"},
                          correlation_id="chain-1", causation_id="cause-1")
    message = to_kafka(event.attributes(), event.data, event.subject)
    assert message.headers["ce_type"] == event.type.encode()
    assert message.headers["content-type"] == b"application/json"
    assert message.key == "91371102MA3C5K0X1Q"
    received = ReceivedEvent.from_kafka(list(message.headers.items()), message.key.encode(), message.value)
    assert (received.id, received.subject, received.data) == (event.id, event.subject, event.data)
    assert (received.correlation_id, received.causation_id) == ("chain-1", "cause-1")
    assert received.traceparent and received.traceparent.startswith("00-")


@pytest.mark.parametrize(("headers", "value"), [
    ([], b"{}"),
    ([("ce_id", b"1"), ("ce_type", b"t")], b"{}"),  # no source/specversion
    ([("ce_id", b"1"), ("ce_type", b"t"), ("ce_source", b"/s"), ("ce_specversion", b"1.0"),
      ("content-type", b"application/json")], b"\xff"),
    ([("ce_id", b"1"), ("ce_type", b"t"), ("ce_source", b"/s"), ("ce_specversion", b"1.0"),
      ("content-type", b"application/json")], b"[1, 2]"),
])
def test_malformed_messages_are_recognised_as_poison(headers, value):
    with pytest.raises(MalformedEvent):
        ReceivedEvent.from_kafka(headers, b"k", value)


def test_every_event_type_has_a_valid_json_schema_and_a_known_topic():
    specs = catalogue()
    assert "safegrid.inspection.filling_records.missing.v1" in specs
    for spec in specs.values():
        jsonschema.Draft202012Validator.check_schema(spec.json_schema())
        assert spec.source == f"/safegrid/{spec.service}"


@pytest.mark.parametrize("module", ["registry", "inspection", "scoring", "enforcement", "portal"])
def test_every_spec_a_contract_module_declares_is_in_the_catalogue(module):
    import importlib

    contracts = importlib.import_module(f"shared.contracts.{module}")
    declared = {value for value in vars(contracts).values() if isinstance(value, EventSpec)}
    assert declared, module
    assert declared == set(contracts.EVENTS)
    assert declared <= set(EVENT_SPECS)
    assert all(spec.service == module for spec in declared)


def test_the_asyncapi_document_lists_every_type_on_its_channel():
    document = asyncapi_document()
    assert document["asyncapi"].startswith("3.")
    messages = document["components"]["messages"]
    assert {m["name"] for m in messages.values()} == set(catalogue())
    channel = document["channels"]["inspection_records"]
    assert channel["address"] == "inspection.records"


class Data(BaseModel):
    x: int


@pytest.mark.parametrize(("type_", "topic", "message"), [
    ("registry.enterprise.registered.v1", "registry.enterprises", "does not follow"),
    ("safegrid.registry.enterprise.Registered.v1", "registry.enterprises", "does not follow"),
    ("safegrid.registry.enterprise.renamed.v1", "registry.nowhere", "unknown topic"),
    ("safegrid.scoring.enterprise.renamed.v1", "registry.enterprises", "published by scoring"),
])
def test_badly_declared_event_types_are_refused(type_, topic, message):
    with pytest.raises(ValueError, match=message):
        EventSpec(type_, topic, Data, "x")


@pytest.mark.parametrize("event", [
    OutgoingEvent(type="safegrid.registry.enterprise.registered.v1", source="/safegrid/registry",
                  subject="91371102MA3C5K0X1Q", data={"name": "东港区某街道液化气站"}),
    OutgoingEvent(type="safegrid.scoring.score.updated.v1", source="/safegrid/scoring", subject="S",
                  data={}, correlation_id="chain-1", causation_id="cause-1",
                  time=datetime(2026, 3, 1, 8, 0, tzinfo=UTC)),
    OutgoingEvent(type="t", source="/s", subject="S", data={},
                  time=datetime(2026, 3, 1, 8, 0, 0, 1, tzinfo=timezone(timedelta(hours=8)))),
])
def test_the_relays_headers_are_the_sdks(event):
    """``kafka_headers`` (the relay's hot path) maps attributes exactly as the SDK does."""
    attributes = event.attributes()
    assert kafka_headers(attributes) == list(to_kafka(attributes, event.data, "k").headers.items())


@pytest.mark.parametrize("attributes", [
    {"id": "1", "source": "", "type": "t", "time": "2026-03-01T08:00:00+00:00"},
    {"id": "1", "source": "/s", "type": "t", "time": "2026-03-01T08:00:00+00:00", "Bad-Name": "x"},
    {"id": "1", "source": "/s", "type": "t", "time": "not a time"},
    {"id": "1", "source": "/s", "type": "t", "time": "2026-03-01T08:00:00+00:00", "subject": ""},
    {"id": "1", "source": "/s", "type": "t", "time": 3},
])
def test_attributes_the_sdk_refuses_are_refused_as_unsendable(attributes):
    from shared.events.relay import UNSENDABLE

    with pytest.raises(UNSENDABLE):
        kafka_headers(attributes)


@pytest.mark.parametrize("moment", [
    "2026-03-01T08:00:00.123456+00:00", "2026-03-01T08:00:00+00:00", "2026-03-01T08:00:00.000000+00:00",
    "2026-03-01T08:00:00.000001+00:00", "2026-03-01T08:00:00Z", "2026-03-01 08:00:00.123456+00:00",
    "2026-03-01T08:00:00.123456+08:00", "2026-03-01T08:00:00.123+00:00", "2026-W09-1T08:00:00+00:00",
    "20260301T080000.123456+00:00", "2026-03-01T080000.1+00:00",
])
def test_the_relays_time_header_is_the_sdks(moment):
    attributes = {"id": "1", "source": "/s", "type": "t", "time": moment}
    assert kafka_headers(attributes) == list(to_kafka(attributes, {}, "k").headers.items())


def test_the_relays_value_is_the_sdks():
    data = {"name": "东港区某街道液化气站", "score": 71.25, "kinds": ["gas_filling"], "grade": None}
    message = to_kafka(OutgoingEvent(type="t", source="/s", subject="S", data=data).attributes(), data, "k")
    assert kafka_value(json.dumps(data)) == message.value
