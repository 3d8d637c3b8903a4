"""aiokafka clients configured the platform's way, and topic creation."""

from __future__ import annotations

import asyncio

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.helpers import create_ssl_context

from shared.config import ServiceSettings
from shared.events.topics import DEFAULT_PARTITIONS, all_topics

log = structlog.get_logger(__name__)


def security_options(settings: ServiceSettings) -> dict[str, object]:
    """How a client authenticates to the brokers: nothing on PLAINTEXT (development), TLS with
    the brokers' CA and/or SASL (SCRAM, a Strimzi KafkaUser's credentials) otherwise."""
    protocol = settings.kafka_security_protocol
    options: dict[str, object] = {"security_protocol": protocol}
    if protocol in ("SSL", "SASL_SSL"):
        options["ssl_context"] = create_ssl_context(cafile=settings.kafka_ssl_cafile or None)
    if protocol.startswith("SASL_"):
        options["sasl_mechanism"] = settings.kafka_sasl_mechanism
        options["sasl_plain_username"] = settings.kafka_sasl_username
        options["sasl_plain_password"] = settings.kafka_sasl_password.get_secret_value()
    return options


def producer_options(settings: ServiceSettings, client_id: str) -> dict[str, object]:
    return {
        **security_options(settings),
        "bootstrap_servers": settings.kafka_bootstrap_servers,
        "client_id": client_id,
        "acks": "all",
        # Real Kafka: turn idempotence on. The embedded broker does not implement it.
        "enable_idempotence": settings.kafka_enable_idempotence,
        "linger_ms": settings.kafka_producer_linger_ms,
        "max_batch_size": settings.kafka_producer_batch_bytes,
        "request_timeout_ms": 5000,
        "retry_backoff_ms": 200,
    }


class ProducerHandle:
    """A producer started on first use and dropped after a failure, so that a broker outage at
    start-up or mid-run costs a retry, not a crashed service."""

    def __init__(self, settings: ServiceSettings, client_id: str) -> None:
        self._settings = settings
        self._client_id = client_id
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> AIOKafkaProducer:
        async with self._lock:
            if self._producer is None:
                producer = AIOKafkaProducer(**producer_options(self._settings, self._client_id))
                try:
                    await producer.start()
                except Exception:
                    await producer.stop()
                    raise
                self._producer = producer
            return self._producer

    async def reset(self) -> None:
        async with self._lock:
            producer, self._producer = self._producer, None
        if producer is not None:
            try:
                await asyncio.wait_for(producer.stop(), timeout=5)
            except Exception as exc:  # a dead broker can make stop() fail too; the handle is gone either way
                log.debug("producer.stop_failed", error=str(exc))

    async def close(self) -> None:
        await self.reset()


async def ensure_topics(bootstrap_servers: str, topics: list[str] | None = None,
                        partitions: int = DEFAULT_PARTITIONS) -> list[str]:
    """Create the platform's topics (and their DLQs) that do not exist yet; return those created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="safegrid-admin")
    await admin.start()
    try:
        wanted = topics or all_topics()
        existing = set(await admin.list_topics())
        missing = [t for t in wanted if t not in existing]
        if missing:
            try:
                await admin.create_topics(
                    [NewTopic(t, num_partitions=partitions, replication_factor=1) for t in missing])
            except TopicAlreadyExistsError:
                pass  # another process created them first
        return missing
    finally:
        await admin.close()
