"""Bearer JWT authentication and the access rules every service shares (contract.md §2).

Development signs HS256 tokens with a secret from the environment; production verifies RS256
against a JWKS URL. A missing or invalid token is 401; a valid one that may not do the thing 403.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

import anyio
import jwt
from fastapi import Depends, Request

from shared.config import ServiceSettings
from shared.http.problems import Problem
from shared.locality import DIVISION_CODE, in_jurisdiction, is_city_level_or_above

Role = Literal["regulator", "enterprise", "association", "integrator", "admin"]
ROLES: tuple[str, ...] = Role.__args__  # type: ignore[attr-defined]
MAX_SUB_LENGTH = 128  # the Idempotency-Key's principal column holds sub, role, jurisdiction and enterprise


@dataclass(frozen=True)
class Principal:
    """Who acts: a token's holder, the platform itself (``SYSTEM``: consumers, jobs) or nobody
    (``PUBLIC``: the unauthenticated pages a QR code opens)."""

    sub: str
    role: Role | Literal["public"]
    jurisdiction: str | None = None
    enterprise: str | None = None
    # None: the token carries no scope claim (an integrator may then do all an integrator may);
    # an empty set: the claim is there and grants nothing.
    scopes: frozenset[str] | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def covers(self, jurisdiction_code: str | None) -> bool:
        """May this principal see things located in ``jurisdiction_code``?"""
        if self.is_admin:
            return True
        if self.role in ("regulator", "integrator", "association") and self.jurisdiction:
            return jurisdiction_code is not None and in_jurisdiction(self.jurisdiction, jurisdiction_code)
        return self.role == "integrator" and self.jurisdiction is None

    def can_access_enterprise(self, uscc: str, jurisdiction_code: str | None) -> bool:
        if self.role == "enterprise":
            return self.enterprise == uscc
        if self.role == "association":
            return False  # associations see members through their own endpoints
        return self.covers(jurisdiction_code)

    def describe(self) -> str:
        """Who this is, as a 403's detail names it: "regulator of 371102", "enterprise user of …"."""
        if self.role == "enterprise":
            return f"enterprise user of {self.enterprise}"
        if self.jurisdiction:
            return f"{self.role} of {self.jurisdiction}"
        return self.role

    def lacks_integrator_scope(self, *scopes: str) -> bool:
        """An integrator token holding none of ``scopes`` (other roles are judged by role)."""
        return self.role == "integrator" and not any(self.has_scope(s) for s in scopes)

    def has_scope(self, scope: str) -> bool:
        return self.is_admin or self.scopes is None or scope in self.scopes

    @cached_property
    def is_city_level(self) -> bool:
        """City-level (or higher) regulators: a six-digit code whose last two digits are 00."""
        return self.is_admin or (self.role == "regulator" and is_city_level_or_above(self.jurisdiction))


SYSTEM = Principal(sub="system", role="admin")
PUBLIC = Principal(sub="public", role="public")


class Authenticator:
    def __init__(self, settings: ServiceSettings) -> None:
        self._settings = settings
        self._jwks: jwt.PyJWKClient | None = (
            jwt.PyJWKClient(settings.jwt_jwks_url, cache_keys=True) if settings.jwt_algorithm == "RS256"
            and settings.jwt_jwks_url else None
        )

    async def verify_async(self, token: str) -> Principal:
        """``verify`` without blocking the event loop: with RS256 a token naming an unknown key id
        makes PyJWT fetch the JWKS over HTTP, so that runs in a worker thread."""
        if self._jwks is None:
            return self.verify(token)
        return await anyio.to_thread.run_sync(self.verify, token)

    def verify(self, token: str) -> Principal:
        settings = self._settings
        try:
            if settings.jwt_algorithm == "RS256":
                if self._jwks is None:
                    raise Problem(401, "Unauthorized", "RS256 is configured without a JWKS URL")
                key = self._jwks.get_signing_key_from_jwt(token).key
            else:
                key = settings.jwt_secret
            claims = jwt.decode(
                token, key, algorithms=[settings.jwt_algorithm], audience=settings.jwt_audience,
                issuer=settings.jwt_issuer, options={"require": ["sub", "exp"]},
            )
        except jwt.PyJWTError as exc:
            raise Problem(401, "Unauthorized", f"invalid bearer token: {exc}",
                          headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}) from exc
        sub = claims.get("sub")
        if not isinstance(sub, str) or not 0 < len(sub) <= MAX_SUB_LENGTH:
            raise _invalid_claim(f"the sub claim must be a string of 1-{MAX_SUB_LENGTH} characters")
        role = claims.get("role")
        if not isinstance(role, str) or role not in ROLES:
            raise Problem(401, "Unauthorized", f"token role {role!r} is not one of {', '.join(ROLES)}",
                          headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        if role == "enterprise" and not claims.get("enterprise"):
            raise Problem(401, "Unauthorized", "enterprise tokens must carry the enterprise claim (USCC)")
        if role == "regulator" and not claims.get("jurisdiction"):
            raise Problem(401, "Unauthorized", "regulator tokens must carry the jurisdiction claim")
        jurisdiction, enterprise = claims.get("jurisdiction"), claims.get("enterprise")
        if jurisdiction is not None and not (isinstance(jurisdiction, str) and DIVISION_CODE.fullmatch(jurisdiction)):
            raise Problem(401, "Unauthorized", "the jurisdiction claim must be a 6, 9 or 12-digit division code")
        if enterprise is not None and not (isinstance(enterprise, str) and len(enterprise) == 18):
            raise Problem(401, "Unauthorized", "the enterprise claim must be an 18-character USCC")
        scope = claims.get("scope")
        scopes: list[str] | None
        if scope is None:
            scopes = None
        elif isinstance(scope, str):
            scopes = scope.split()
        elif isinstance(scope, list) and all(isinstance(s, str) for s in scope):
            scopes = scope
        else:
            raise _invalid_claim("the scope claim must be a space-separated string or a list of strings")
        return Principal(sub=sub, role=role, jurisdiction=jurisdiction, enterprise=enterprise,
                         scopes=None if scopes is None else frozenset(scopes))


def _invalid_claim(detail: str) -> Problem:
    return Problem(401, "Unauthorized", detail, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


def issue_token(
    settings: ServiceSettings, *, role: str, sub: str | None = None, jurisdiction: str | None = None,
    enterprise: str | None = None, scopes: list[str] | None = None, ttl_s: int = 12 * 3600,
) -> str:
    """Sign a development token (HS256). Production tokens come from the city's identity provider."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    now = int(time.time())
    claims: dict[str, object] = {
        "sub": sub or f"dev-{role}", "role": role, "iat": now, "exp": now + ttl_s,
        "iss": settings.jwt_issuer, "aud": settings.jwt_audience,
    }
    if jurisdiction:
        claims["jurisdiction"] = jurisdiction
    if enterprise:
        claims["enterprise"] = enterprise
    if scopes:
        claims["scope"] = " ".join(scopes)
    return jwt.encode(claims, settings.jwt_secret, algorithm="HS256")


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def current_principal(request: Request) -> Principal:
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    token = bearer_token(request)
    if token is None:
        raise Problem(401, "Unauthorized", "a bearer token is required",
                      headers={"WWW-Authenticate": "Bearer"})
    principal = await request.app.state.runtime.authenticator.verify_async(token)
    request.state.principal = principal
    return principal


def require_roles(*roles: str):  # type: ignore[no-untyped-def]
    """Dependency: the caller must hold one of ``roles`` (admin always passes)."""

    async def _check(principal: Principal = Depends(current_principal)) -> Principal:
        if principal.role not in roles and not principal.is_admin:
            raise Problem(403, "Forbidden", f"role {principal.role} may not do this; needs one of {', '.join(roles)}")
        return principal

    return _check


def forbid(detail: str) -> Problem:
    return Problem(403, "Forbidden", detail)
