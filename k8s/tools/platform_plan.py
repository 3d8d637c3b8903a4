"""What the deployment must follow, read from the code: the services and their ports
(services/catalog.py), the topics and their producers (shared/events/topics.py and the event
catalogue), what each service consumes (its consumers.py) and its consumer groups."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field

from services.catalog import SERVICES
from shared.contracts.catalogue import EVENT_SPECS
from shared.events.spec import EventSpec
from shared.events.topics import TOPICS, dlq_topic

# Which service's HTTP API another calls (portal resolves QR tokens through registry's public API).
CALLS = {"portal": ("registry",)}


@dataclass(frozen=True)
class ServicePlan:
    name: str
    port: int
    produces: tuple[str, ...]
    consumes: tuple[str, ...]
    calls: tuple[str, ...] = field(default=())

    @property
    def group_prefix(self) -> str:
        """Consumer groups are ``safegrid.<service>.<subscription>`` (shared/events/consumer.py)."""
        return f"safegrid.{self.name}."

    @property
    def writes(self) -> tuple[str, ...]:
        """Its own topics, and the DLQs of the topics it consumes (the consumer dead-letters there)."""
        return tuple(sorted({*self.produces, *(dlq_topic(t) for t in self.consumes)}))


def all_topics() -> tuple[str, ...]:
    return tuple(dict.fromkeys(TOPICS))


def producer_of(topic: str) -> str:
    return topic.split(".", 1)[0]


def consumed_topics(service: str) -> tuple[str, ...]:
    topics: set[str] = set()
    try:
        module = importlib.import_module(f"services.{service}.consumers")
    except ModuleNotFoundError:
        return tuple(sorted(topics))
    for value in vars(module).values():
        if isinstance(value, dict) and value and all(isinstance(key, EventSpec) for key in value):
            topics.update(spec.topic for spec in value)
    return tuple(sorted(topics))


def plans() -> tuple[ServicePlan, ...]:
    out = []
    for info in SERVICES:
        produces = tuple(t for t in all_topics() if producer_of(t) == info.name)
        out.append(ServicePlan(info.name, info.port, produces, consumed_topics(info.name), CALLS.get(info.name, ())))
    return tuple(out)


def producers() -> dict[str, set[str]]:
    """Topic -> the services whose events the catalogue puts on it (each spec names its topic)."""
    by_topic: dict[str, set[str]] = {}
    for spec in EVENT_SPECS:
        by_topic.setdefault(spec.topic, set()).add(spec.service)
    return by_topic
