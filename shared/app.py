"""The service app factory: every service is ``create_service_app(...)`` plus its routers and
subscriptions. The lifespan builds the engine, the relay and the consumers (never at import),
and tears them down in reverse on shutdown."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.routing import BaseRoute

from shared.auth import PUBLIC, SYSTEM, Authenticator, Principal, current_principal
from shared.config import ServiceSettings
from shared.context import ServiceContext
from shared.db import READ_ONLY_OPTION, PlatformTables, build_engine, build_session_factory
from shared.events.consumer import ConsumerRunner, Subscription
from shared.events.kafka import ProducerHandle
from shared.events.outbox import Outbox
from shared.events.relay import OutboxRelay
from shared.http.idempotency import CLAIM_STATE, IdempotencyMiddleware, mark_committed, prune_expired_keys
from shared.http.nul import RefuseNul
from shared.http.openapi import install_openapi
from shared.http.problems import install_problem_handlers
from shared.http.request_context import RequestContext
from shared.observability import configure_logging, metrics
from shared.schedule import run_every

log = structlog.get_logger(__name__)

BackgroundJob = Callable[["ServiceRuntime", asyncio.Event], Awaitable[None]]
StartupHook = Callable[["ServiceRuntime"], Awaitable[None]]
ContextFactory = Callable[["ServiceRuntime", AsyncSession, Principal], Any]
Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ServiceDefinition:
    """What a service is made of, as its ``main.create_app`` declares it: the app factory keeps
    it on ``app.state.definition`` so that tests and the CLI build the very same runtime."""

    settings: ServiceSettings
    tables: PlatformTables
    migrations: Path
    context: ContextFactory = ServiceContext
    resources: Callable[[ServiceSettings], Any] | None = None
    subscriptions: Sequence[Subscription] = ()
    background: Sequence[BackgroundJob] = ()
    on_startup: Sequence[StartupHook] = ()


@dataclass
class ServiceRuntime:
    """Everything a running service holds; reachable as ``request.app.state.runtime``."""

    definition: ServiceDefinition
    engine: AsyncEngine
    session_factory: async_sessionmaker[AsyncSession]
    authenticator: Authenticator
    outbox: Outbox
    relay: OutboxRelay
    relay_producer: ProducerHandle
    dlq_producer: ProducerHandle
    resources: Any = None
    clock: Clock = system_clock
    consumers: list[ConsumerRunner] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def settings(self) -> ServiceSettings:
        return self.definition.settings

    @property
    def tables(self) -> PlatformTables:
        return self.definition.tables

    @property
    def service(self) -> str:
        return self.settings.service_name

    def context(self, session: AsyncSession, principal: Principal = SYSTEM) -> Any:
        """The service's context for this unit of work (see ``shared.context``)."""
        return self.definition.context(self, session, principal)


def build_runtime(definition: ServiceDefinition) -> ServiceRuntime:
    """Build (not start) what the service runs on: engine, outbox, relay, consumers, resources."""
    settings, tables = definition.settings, definition.tables
    engine = build_engine(settings.effective_database_url, echo=settings.database_echo)
    sessions = build_session_factory(engine)
    service = settings.service_name
    relay_producer = ProducerHandle(settings, f"{settings.kafka_client_id_prefix}-{service}-relay")
    dlq_producer = ProducerHandle(settings, f"{settings.kafka_client_id_prefix}-{service}-dlq")
    runtime = ServiceRuntime(
        definition=definition,
        engine=engine,
        session_factory=sessions,
        authenticator=Authenticator(settings),
        outbox=Outbox(tables),
        relay=OutboxRelay(
            service,
            sessions,
            tables,
            relay_producer,
            batch_size=settings.relay_batch_size,
            poll_interval_s=settings.relay_poll_interval_s,
        ),
        relay_producer=relay_producer,
        dlq_producer=dlq_producer,
        resources=definition.resources(settings) if definition.resources else None,
    )
    runtime.consumers = [
        ConsumerRunner(
            service,
            sub,
            sessions,
            tables,
            settings,
            dlq_producer,
            context=lambda session: runtime.context(session, SYSTEM),
            on_commit=lambda: runtime.relay.notify(),
        )
        for sub in definition.subscriptions
    ]
    return runtime


async def start_runtime(runtime: ServiceRuntime) -> None:
    """Run the start-up hooks, then the relay, the consumers and the background jobs."""
    for hook in runtime.definition.on_startup:
        await hook(runtime)
    settings = runtime.settings
    if settings.relay_enabled:
        runtime.tasks.append(asyncio.create_task(runtime.relay.run(runtime.stop), name="outbox-relay"))
    if settings.consumers_enabled:
        for consumer in runtime.consumers:
            runtime.tasks.append(asyncio.create_task(consumer.run(runtime.stop), name=consumer.group_id))
    for job in (prune_idempotency_keys, *runtime.definition.background):
        runtime.tasks.append(asyncio.create_task(job(runtime, runtime.stop), name=getattr(job, "__name__", "job")))


async def prune_idempotency_keys(runtime: ServiceRuntime, stop: asyncio.Event) -> None:
    """Every service's own job: the Idempotency-Keys older than ``idempotency_key_ttl_h`` are
    forgotten, every ``idempotency_prune_interval_s`` (on every replica: deleting what another
    replica deleted finds nothing)."""
    settings = runtime.settings

    async def prune() -> None:
        pruned = await prune_expired_keys(runtime.session_factory, runtime.tables.idempotency_keys,
                                          datetime.now(UTC), timedelta(hours=settings.idempotency_key_ttl_h))
        if pruned:
            log.info("idempotency.pruned", keys=pruned)

    await run_every(stop, settings.idempotency_prune_interval_s, prune, name="idempotency-prune")


async def stop_runtime(runtime: ServiceRuntime) -> None:
    runtime.stop.set()
    if runtime.tasks:
        _, pending = await asyncio.wait(runtime.tasks, timeout=15)
        for task in pending:
            task.cancel()
        await asyncio.gather(*runtime.tasks, return_exceptions=True)
    await runtime.relay_producer.close()
    await runtime.dlq_producer.close()
    await runtime.engine.dispose()


def create_service_app(
    settings: ServiceSettings,
    *,
    tables: PlatformTables,
    migrations: Path,
    title: str,
    description: str,
    context: ContextFactory = ServiceContext,
    resources: Callable[[ServiceSettings], Any] | None = None,
    routers: Sequence[APIRouter] = (),
    hot_routes: Sequence[BaseRoute] = (),
    subscriptions: Sequence[Subscription] = (),
    background: Sequence[BackgroundJob] = (),
    on_startup: Sequence[StartupHook] = (),
) -> FastAPI:
    """The composition root of every service. ``context`` builds the ``ctx`` each use case
    receives (requests, consumers, jobs and the CLI alike); ``resources`` builds, once per
    process, what contexts share (a model cache, a policy file). ``hot_routes`` are matched
    first, held by the app's router itself: FastAPI matches an included router's routes twice a
    request (to find the router, then inside it), besides each router before it."""
    definition = ServiceDefinition(
        settings=settings,
        tables=tables,
        migrations=migrations,
        context=context,
        resources=resources,
        subscriptions=tuple(subscriptions),
        background=tuple(background),
        on_startup=tuple(on_startup),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings.service_name, fmt=settings.log_format, level=settings.log_level)
        runtime = build_runtime(definition)
        app.state.runtime = runtime
        await start_runtime(runtime)
        log.info("service.started", port=settings.effective_port, database=runtime.engine.url.render_as_string())
        try:
            yield
        finally:
            await stop_runtime(runtime)
            log.info("service.stopped")

    app = FastAPI(
        title=title,
        description=description,
        version="1.0.0",
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.definition = definition
    install_problem_handlers(app)
    install_openapi(app, db_session)  # the document lists the problems, headers and auth the shared machinery adds
    app.add_middleware(RefuseNul)  # innermost: a NUL anywhere in the path, query or JSON body is a 422
    app.add_middleware(IdempotencyMiddleware)
    app.add_middleware(RequestContext, service=settings.service_name)  # outermost: request id, trace, metrics
    app.router.routes[0:0] = hot_routes  # before even the docs routes FastAPI adds
    app.include_router(_operations_router(settings.service_name))
    for router in routers:
        app.include_router(router)
    _refuse_late_commits([*(router.routes for router in routers), hot_routes])
    return app


def _refuse_late_commits(route_lists: Sequence[Sequence[BaseRoute]]) -> None:
    """Fail at start-up if a route takes ``db_session`` with the default (request) scope: its
    commit would run after the response was sent, so a failed commit would look like success."""
    from fastapi.routing import APIRoute

    def walk(dependant, path: str) -> None:  # type: ignore[no-untyped-def]
        for dep in dependant.dependencies:
            if dep.call in (db_session, read_only_db_session) and dep.scope != "function":
                raise RuntimeError(f"{path}: use `session: DbSession` (Depends(db_session, scope='function'))")
            walk(dep, path)

    def visit(routes) -> None:  # type: ignore[no-untyped-def]
        for route in routes:
            if isinstance(route, APIRoute):
                walk(route.dependant, f"{','.join(sorted(route.methods))} {route.path}")
            nested = getattr(route, "original_router", None) or getattr(route, "router", None)
            if isinstance(nested, APIRouter):
                visit(nested.routes)

    for routes in route_lists:
        visit(routes)


def _operations_router(service: str) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="Process alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": service}

    @router.get("/readyz", summary="Database and broker reachable", responses={503: {"description": "not ready"}})
    async def readyz(request: Request) -> JSONResponse:
        runtime: ServiceRuntime = request.app.state.runtime
        checks = {"database": await _database_ok(runtime), "broker": await broker_reachable(
            runtime.settings.kafka_bootstrap_servers)}
        ready = all(checks.values())
        return JSONResponse({"status": "ready" if ready else "not_ready", "service": service,
                             "checks": {k: "ok" if v else "unreachable" for k, v in checks.items()}},
                            status_code=200 if ready else 503)

    @router.get("/asyncapi.json", summary="The platform's event catalogue (AsyncAPI 3.0)")
    async def asyncapi() -> dict[str, Any]:
        from shared.contracts.catalogue import asyncapi_document

        return asyncapi_document()

    @router.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def prometheus(request: Request) -> Response:
        runtime: ServiceRuntime = request.app.state.runtime
        try:
            async with runtime.session_factory() as session:
                metrics.outbox_backlog.labels(service).set(await runtime.outbox.backlog(session))
        except Exception as exc:  # metrics must answer even when the database does not
            log.debug("metrics.backlog_unavailable", error=str(exc))
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


async def _database_ok(runtime: ServiceRuntime) -> bool:
    try:
        async with asyncio.timeout(2), runtime.engine.connect() as connection:
            await connection.execution_options(**{READ_ONLY_OPTION: True})
            await connection.execute(text("SELECT 1"))
        return True
    except Exception:
        return False


async def broker_reachable(bootstrap_servers: str, timeout_s: float = 1.0) -> bool:
    for server in bootstrap_servers.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(host or "127.0.0.1", int(port)), timeout_s)
            writer.close()
            return True
        except (OSError, ValueError, TimeoutError):
            continue
    return False


async def db_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's unit of work: one transaction, committed when the endpoint returns without
    error, rolled back otherwise. Services flush; only this (and the consumer runner) commits.

    Use it as ``DbSession`` (scope "function"): the commit then runs before the response is
    sent, so a failed commit is answered with an error instead of a success already sent."""
    runtime: ServiceRuntime = request.app.state.runtime
    async with runtime.session_factory() as session, session.begin():
        yield session
        claim = getattr(request.state, CLAIM_STATE, None)
        if claim is not None:  # the Idempotency-Key's write is done: mark it in the same transaction
            await mark_committed(session, runtime.tables.idempotency_keys, claim)
    runtime.relay.notify()


async def read_only_db_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The unit of work of an endpoint that only reads (a list, a detail): on SQLite a deferred
    transaction, which reads the last committed snapshot instead of queueing behind the writers
    (consumers, relay, jobs) as ``BEGIN IMMEDIATE`` does; on PostgreSQL the same as ``db_session``.
    A write in it may fail with "database is locked" instead of waiting: only for pure reads."""
    runtime: ServiceRuntime = request.app.state.runtime
    async with runtime.session_factory() as session, session.begin():
        await session.connection(execution_options={READ_ONLY_OPTION: True})
        yield session


async def get_runtime(request: Request) -> ServiceRuntime:
    """Dependency: the running service's runtime (outbox, settings, sessions). Async, so that
    FastAPI calls it in the event loop instead of a worker thread (a sync one costs a thread hop)."""
    return request.app.state.runtime


DbSession = Annotated[AsyncSession, Depends(db_session, scope="function")]
ReadOnlyDbSession = Annotated[AsyncSession, Depends(read_only_db_session, scope="function")]
Runtime = Annotated[ServiceRuntime, Depends(get_runtime)]


async def request_context(
    runtime: Runtime, session: DbSession, principal: Annotated[Principal, Depends(current_principal)]
) -> Any:
    """Dependency: the authenticated caller's context. A service types it once in its
    ``access.py``: ``Ctx = Annotated[MyContext, Depends(request_context)]``."""
    return runtime.context(session, principal)


async def read_only_request_context(
    runtime: Runtime, session: ReadOnlyDbSession, principal: Annotated[Principal, Depends(current_principal)]
) -> Any:
    """Dependency: ``request_context`` for an endpoint that only reads (``read_only_db_session``)."""
    return runtime.context(session, principal)


async def public_context(runtime: Runtime, session: DbSession) -> Any:
    """Dependency: the context of an unauthenticated request (public QR pages)."""
    return runtime.context(session, PUBLIC)
