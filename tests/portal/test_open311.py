"""Open311 GeoReport v2: discovery, services, definitions, filing a request (form-encoded, api_key),
tokens, the list and one request as its status follows enforcement, in JSON and XML, each JSON
answer validated against the shapes of the specification's published schemas
(open311/schema-validation, schema/georeport-v2), and its own error format on that path."""

from __future__ import annotations

from xml.etree import ElementTree

import jsonschema
import pytest

from shared.contracts import enforcement, registry
from shared.contracts.portal import REPORT_SUBMITTED
from tests.portal.support import UNIT, alert_raised, alert_status, enterprise

BASE = "/open311/v2"
NULLABLE_STRING = {"type": ["string", "null"]}
# What the specification's JSON Schemas require of each answer (required members, enums, types).
SERVICE = {"type": "object", "required": ["service_code", "service_name", "metadata", "type"], "properties": {
    "service_code": {"type": "string"}, "service_name": {"type": "string"}, "description": NULLABLE_STRING,
    "metadata": {"type": "boolean"}, "type": {"enum": ["realtime", "batch", "blackbox"]},
    "keywords": NULLABLE_STRING, "group": NULLABLE_STRING}}
DEFINITION = {"type": "object", "required": ["service_code", "attributes"], "properties": {
    "service_code": {"type": "string"}, "attributes": {"type": "array", "items": {
        "type": "object", "required": ["variable", "code", "datatype", "required"], "properties": {
            "variable": {"type": "boolean"}, "code": {"type": "string"}, "required": {"type": "boolean"},
            "datatype": {"enum": ["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"]},
            "datatype_description": NULLABLE_STRING, "order": {"type": ["integer", "null"]},
            "description": NULLABLE_STRING,
            "values": {"type": "array", "items": {"required": ["key", "name"]}}}}}}}
REQUEST = {"type": "object", "required": ["service_request_id", "status", "service_code", "requested_datetime"],
           "properties": {
               "service_request_id": {"type": "string"}, "status": {"enum": ["open", "closed"]},
               "status_notes": NULLABLE_STRING, "service_name": NULLABLE_STRING, "service_code": {"type": "string"},
               "description": {"type": ["string", "null"], "maxLength": 4000}, "agency_responsible": NULLABLE_STRING,
               "service_notice": NULLABLE_STRING, "requested_datetime": {"type": "string", "format": "date-time"},
               "updated_datetime": {"type": ["string", "null"]}, "expected_datetime": {"type": ["string", "null"]},
               "address": NULLABLE_STRING, "address_id": NULLABLE_STRING, "zipcode": NULLABLE_STRING,
               "lat": {"type": ["number", "null"]}, "long": {"type": ["number", "null"]},
               "media_url": NULLABLE_STRING}}
ERRORS = {"type": "array", "minItems": 1, "items": {"type": "object", "required": ["code", "description"],
                                                     "properties": {"code": {"type": "integer"},
                                                                    "description": {"type": "string"}}}}


def valid(instance, schema) -> None:  # type: ignore[no-untyped-def]
    jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker()).validate(instance)


@pytest.fixture
async def city(lone):  # type: ignore[no-untyped-def]
    """The portal knowing the headline unit, and an integrator's api_key."""
    await lone.deliver(registry.ENTERPRISE_REGISTERED, enterprise(location={"lat": 35.42, "lon": 119.52}))
    lone.api_key = lone.svc.token("integrator", sub="city-hub", jurisdiction="371100", scopes=["portal:write"])
    return lone


async def file(city, **fields: str):  # type: ignore[no-untyped-def]
    form = {"api_key": city.api_key, "service_code": "gas_leak", "attribute[uscc]": UNIT,
            "description": "燃气站外闻到异味", "email": "someone@example.org", "first_name": "三", **fields}
    return await city.client.post(f"{BASE}/requests.json", data=form)


async def test_discovery_services_and_definitions_in_json_and_xml(city):
    discovery = (await city.client.get(f"{BASE}/discovery.json")).json()
    assert discovery["endpoints"][0]["formats"] == ["text/xml", "application/json"]
    listed = (await city.client.get(f"{BASE}/services.json")).json()
    valid(listed, {"type": "array", "minItems": 1, "items": SERVICE})
    assert "gas_leak" in {s["service_code"] for s in listed}
    definition = (await city.client.get(f"{BASE}/services/gas_leak.json")).json()
    valid(definition, DEFINITION)
    assert definition["attributes"][0]["code"] == "uscc" and definition["attributes"][0]["required"] is True
    xml = await city.client.get(f"{BASE}/services.xml")
    assert xml.headers["content-type"].startswith("text/xml")
    root = ElementTree.fromstring(xml.content)
    assert root.tag == "services" and root.find("service/metadata").text == "true"
    missing = await city.client.get(f"{BASE}/services/ufo.xml")
    assert missing.status_code == 404 and ElementTree.fromstring(missing.content).find("error/code").text == "404"


async def test_a_request_is_filed_followed_and_closed_as_enforcement_resolves_it(city):
    created = await file(city, lat="35.4201", long="119.5202")
    assert created.status_code == 201, created.text
    [receipt] = created.json()
    valid(created.json(), {"type": "array", "items": {"required": ["service_request_id"]}})
    [event] = await city.outbox(REPORT_SUBMITTED.type)
    assert event["data"]["channel"] == "open311" and "someone@example.org" not in str(event) and "三" not in str(event)

    key = {"api_key": city.api_key}
    by_token = (await city.client.get(f"{BASE}/tokens/{receipt['token']}.json", params=key)).json()
    assert by_token == [{"service_request_id": receipt["service_request_id"], "token": receipt["token"]}]
    one = (await city.client.get(f"{BASE}/requests/{receipt['service_request_id']}.json", params=key)).json()
    valid(one, {"type": "array", "minItems": 1, "items": REQUEST})
    assert (one[0]["status"], one[0]["lat"], one[0]["service_code"]) == ("open", 35.4201, "gas_leak")

    await city.deliver(enforcement.ALERT_RAISED, alert_raised("AL-9", event["attributes"]["id"]))
    await city.deliver(enforcement.ALERT_STATUS_CHANGED, alert_status("AL-9", "resolved"))
    closed = (await city.client.get(f"{BASE}/requests.json", params={**key, "status": "closed"})).json()
    valid(closed, {"type": "array", "items": REQUEST})
    assert [r["service_request_id"] for r in closed] == [receipt["service_request_id"]]
    assert (await city.client.get(f"{BASE}/requests.json", params={**key, "status": "open"})).json() == []
    xml = ElementTree.fromstring((await city.client.get(f"{BASE}/requests.xml", params=key)).content)
    assert xml.tag == "service_requests" and xml.find("request/status").text == "closed"


@pytest.mark.parametrize(("change", "status", "says"), [
    ({"api_key": ""}, 400, "api_key is required"),
    ({"api_key": "not-a-token"}, 403, "api_key is not valid"),
    ({"service_code": "ufo"}, 400, "service_code"),
    ({"attribute[uscc]": "123"}, 400, "attribute[uscc]"),
    ({"attribute[uscc]": "91371102MA3C5K0X2Q"}, 404, "no unit"),
    ({"description": " "}, 400, "description"),
    ({"lat": "35.4"}, 400, "lat and long"),
    ({"lat": "north", "long": "1"}, 400, "lat must be a number"),
    ({"lat": "95", "long": "1"}, 400, "lat/long"),
])
async def test_a_bad_request_gets_open311_errors_and_files_nothing(city, change, status, says):
    refused = await file(city, **change)
    assert refused.status_code == status and refused.headers["content-type"] == "application/json"
    valid(refused.json(), ERRORS)
    assert refused.json()[0]["code"] == status and says in refused.json()[0]["description"]
    assert await city.outbox(REPORT_SUBMITTED.type) == []


async def test_reading_requests_needs_an_api_key_with_the_right(city):
    assert (await city.client.get(f"{BASE}/requests.json")).status_code == 400
    public = city.svc.token("regulator", jurisdiction="371102")
    refused = await city.client.get(f"{BASE}/requests.xml", params={"api_key": public})
    assert refused.status_code == 403 and ElementTree.fromstring(refused.content).tag == "errors"
    other = city.svc.token("integrator", jurisdiction="371103", scopes=["portal:write"])
    assert (await file(city, api_key=other)).status_code == 403  # the unit lies outside its jurisdiction
    assert (await city.client.get(f"{BASE}/requests.json", params={"api_key": city.api_key,
                                                                   "start_date": "yesterday"})).status_code == 400
    bad_format = await city.client.get(f"{BASE}/services.csv")
    assert bad_format.status_code == 400 and bad_format.json()[0]["code"] == 400
