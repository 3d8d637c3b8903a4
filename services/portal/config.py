"""Settings of the portal service (environment prefix SAFEGRID_PORTAL_, then SAFEGRID_)."""

from typing import ClassVar, Literal

from pydantic import Field

from shared.config import ServiceSettings


class Settings(ServiceSettings):
    service_name: ClassVar[str] = "portal"
    default_port: ClassVar[int] = 8000

    read_model_consumer: str = Field("read-model", description=(
        "name of the consumer group that builds the read model (safegrid.portal.<name>)"))
    registry_url: str = Field("http://127.0.0.1:8001", description=(
        "registry's base URL: a scanned token is resolved through its public API (GET /api/v1/public/qr/{token})"))
    registry_timeout_s: float = Field(2.0, gt=0, description="how long one call to registry's public API may take")
    qr_recheck_s: float = Field(300.0, ge=0, description=(
        "how long a resolved token is trusted before registry is asked again (a revoked label stops within this)"))
    page_cache_s: float = Field(30.0, ge=0, description=(
        "how long a QR page's content is served from memory (a change this process applies drops it at once; "
        "other replicas' copies age out); 0: no cache"))
    public_grade_display: Literal["grade", "label", "hidden"] = Field("grade", description=(
        "what the public sees of a grade (domain.md §6): the letter with its meaning, the meaning only, or nothing; "
        "keep it equal to the scoring model's policy"))
    probe_misses_per_window: int = Field(10, ge=1, description=(
        "unknown or revoked tokens one client may look up per probe window before it gets 429"))
    probe_window_s: float = Field(600.0, gt=0, description="the token-probing window")
    lookups_per_minute: int = Field(120, ge=1, description="token lookups (pages, JSON) a client may make a minute")
    ratings_per_hour: int = Field(5, ge=1, description="ratings one client may submit an hour")
    reports_per_hour: int = Field(5, ge=1, description="problem reports one client may submit an hour")
    trust_forwarded_for: bool = Field(False, description=(
        "take the client's address from X-Forwarded-For (only behind a proxy that sets it)"))
    comment_max_chars: int = Field(500, ge=1, description="the longest rating comment")
    report_max_chars: int = Field(2000, ge=1, description="the longest report description")
    photo_max_bytes: int = Field(5 * 1024 * 1024, ge=1024, description="the largest report photo")
    map_tile_url: str = Field("", description=(
        "a tile source for map clients (e.g. the city's Tianditu URL template with its key); empty: no tiles, "
        "the map works offline"))
