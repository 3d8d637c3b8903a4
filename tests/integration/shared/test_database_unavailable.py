"""While the database cannot be reached, a request is answered 503 with Retry-After (a problem
document, nothing changed) instead of a 500, and every operation with a unit of work says so in
its OpenAPI document."""

from __future__ import annotations

from services.registry.main import create_app as create_registry_app
from shared.broker import free_port
from shared.db import build_engine, build_session_factory
from shared.testing.services import running_service


async def test_a_request_while_the_database_is_unreachable_is_a_503_with_retry_after(sqlite_database_url):
    async with running_service(create_registry_app, sqlite_database_url) as svc:
        runtime = svc.runtime
        unreachable = build_engine(f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/gone")
        healthy = runtime.session_factory
        runtime.session_factory = build_session_factory(unreachable)  # the database went away
        try:
            headers = svc.auth("regulator", jurisdiction="371100")
            read = await svc.client.get("/api/v1/enterprises", headers=headers)
            write = await svc.client.post("/api/v1/enterprises", headers={**headers, "Idempotency-Key": "k-1"},
                                          json={"uscc": "91371102MA3C5K0X1Q"})
        finally:
            runtime.session_factory = healthy
            await unreachable.dispose()
        for response in (read, write):
            assert response.status_code == 503, response.text
            assert response.headers["retry-after"].isdigit()
            assert response.headers["content-type"].startswith("application/problem+json")
            assert response.json()["status"] == 503
        assert (await svc.client.get("/api/v1/enterprises", headers=headers)).status_code == 200

        document = (await svc.client.get("/openapi.json")).json()
        listing = document["paths"]["/api/v1/enterprises"]["get"]["responses"]["503"]
        assert listing["headers"]["Retry-After"] == {"$ref": "#/components/headers/RetryAfter"}
        assert "503" not in document["paths"]["/healthz"]["get"]["responses"]
