"""Logging (structlog: console in development, JSON in production) and Prometheus metrics.

Metrics are defined once per process with a ``service`` label, so several services can share a
process in tests without registering a metric twice."""

from __future__ import annotations

import logging
import sys
from types import SimpleNamespace

import structlog
from prometheus_client import Counter, Gauge, Histogram

metrics = SimpleNamespace(
    http_requests=Histogram(
        "safegrid_http_request_duration_seconds", "HTTP request latency",
        ["service", "method", "route", "status"],
    ),
    outbox_backlog=Gauge("safegrid_outbox_backlog", "Outbox rows not yet published", ["service"]),
    relay_published=Counter("safegrid_outbox_published_total", "Outbox rows published", ["service"]),
    relay_errors=Counter("safegrid_outbox_relay_errors_total", "Relay failures (broker or database)", ["service"]),
    consumer_events=Counter(
        "safegrid_consumer_events_total", "Consumed events by outcome",
        ["service", "consumer", "event_type", "outcome"],
    ),
    consumer_lag=Gauge("safegrid_consumer_lag", "Messages behind the partition end",
                       ["service", "consumer", "topic", "partition"]),
    handler_latency=Histogram(
        "safegrid_consumer_handler_duration_seconds", "Time to apply one event, transaction included",
        ["service", "consumer", "event_type"],
    ),
)


def configure_logging(service: str, *, fmt: str = "console", level: str = "INFO") -> None:
    """Route stdlib and structlog through one renderer; bind the service name to every line."""
    shared_processors: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer(ensure_ascii=False) if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty(),
                                           exception_formatter=structlog.dev.plain_traceback)
    )
    structlog.configure(
        processors=[*shared_processors, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler()
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared_processors,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    ))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aiokafka", "kafka", "uvicorn.access", "sqlalchemy.engine"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    structlog.contextvars.bind_contextvars(service=service)
