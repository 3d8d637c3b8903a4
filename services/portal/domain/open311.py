"""GeoReport v2's XML form: the same elements as its JSON, each list under its plural with one
element per item (``<services><service>…``), booleans as ``true``/``false``, absent values empty."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from xml.etree import ElementTree

# A list's element name -> its items' element name, as the specification's examples spell them.
ITEMS = {"services": "service", "service_requests": "request", "attributes": "attribute", "values": "value",
         "endpoints": "endpoint", "formats": "format", "errors": "error"}


def _fill(element: ElementTree.Element, value: Any) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _fill(ElementTree.SubElement(element, key), item)
    elif isinstance(value, list):
        for item in value:
            _fill(ElementTree.SubElement(element, ITEMS.get(element.tag, "item")), item)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif isinstance(value, datetime):
        element.text = value.isoformat()
    elif value is not None:
        element.text = str(value)


def to_xml(root: str, value: Any) -> bytes:
    """``value`` (a dict, or a list of dicts) as the document ``<root>…</root>``."""
    element = ElementTree.Element(root)
    _fill(element, value)
    return ElementTree.tostring(element, encoding="utf-8", xml_declaration=True)
