"""What the consumer runner asks of the broker: the fetch wait is a setting
(``SAFEGRID_KAFKA_FETCH_MAX_WAIT_MS``), Kafka's 500 ms unless set."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from shared.config import ServiceSettings
from shared.contracts.registry import ENTERPRISE_REGISTERED
from shared.events import consumer as consumer_module
from shared.events.consumer import ConsumerRunner, Subscription


class Built(Exception):
    """Raised by the fake consumer once it has seen its options."""


async def options_of_consumer(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    class FakeConsumer:
        def __init__(self, *topics: str, **options: Any) -> None:
            seen.update(options, topics=topics)
            raise Built

    async def handler(ctx: Any, event: Any) -> None:
        return None

    monkeypatch.setattr(consumer_module, "AIOKafkaConsumer", FakeConsumer)
    runner = ConsumerRunner("toy", Subscription("ledger", {ENTERPRISE_REGISTERED: handler}), None,  # type: ignore[arg-type]
                            SimpleNamespace(inbox=None), ServiceSettings(), None,  # type: ignore[arg-type]
                            context=lambda session: session)
    with pytest.raises(Built):
        await runner._start()  # noqa: SLF001
    return seen


async def test_the_fetch_wait_is_kafkas_default_unless_set(monkeypatch):
    monkeypatch.delenv("SAFEGRID_KAFKA_FETCH_MAX_WAIT_MS", raising=False)
    options = await options_of_consumer(monkeypatch)
    assert options["fetch_max_wait_ms"] == 500 and options["topics"] == (ENTERPRISE_REGISTERED.topic,)


async def test_the_runner_asks_for_the_configured_fetch_wait(monkeypatch):
    monkeypatch.setenv("SAFEGRID_KAFKA_FETCH_MAX_WAIT_MS", "50")
    assert (await options_of_consumer(monkeypatch))["fetch_max_wait_ms"] == 50
