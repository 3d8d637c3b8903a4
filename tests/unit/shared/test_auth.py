import asyncio
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.auth import Authenticator, Principal, issue_token
from shared.config import ServiceSettings
from shared.http.problems import Problem
from shared.locality import in_jurisdiction, jurisdiction_prefix

SETTINGS = ServiceSettings(jwt_secret="unit-test-secret-of-a-decent-length-0123456789")


@pytest.mark.parametrize(("node", "expected"), [
    ("370000", "37"), ("371100", "3711"), ("371102", "371102"), ("371102001", "371102001"),
    ("371102001003", "371102001003"),
])
def test_jurisdiction_prefix(node, expected):
    assert jurisdiction_prefix(node) == expected


@pytest.mark.parametrize(("node", "code", "inside"), [
    ("371100", "371100", True), ("371100", "371102", True), ("371100", "371102001002", True),
    ("371102", "371103", False), ("371102", "371102001", True), ("371102001", "371102002001", False),
    ("371100", "371200", False), ("370000", "371121", True),
])
def test_subtree_membership(node, code, inside):
    assert in_jurisdiction(node, code) is inside


def test_a_dev_token_round_trips_into_a_principal():
    token = issue_token(SETTINGS, role="regulator", jurisdiction="371102", sub="officer-7")
    principal = Authenticator(SETTINGS).verify(token)
    assert principal == Principal(sub="officer-7", role="regulator", jurisdiction="371102")
    assert principal.covers("371102001001") and not principal.covers("371103")
    assert not principal.is_city_level


@pytest.mark.parametrize("mutate", [
    lambda claims: {**claims, "exp": int(time.time()) - 10},
    lambda claims: {**claims, "role": "superuser"},
    lambda claims: {**claims, "aud": "someone-else"},
    lambda claims: {k: v for k, v in claims.items() if k != "jurisdiction"},
])
def test_bad_tokens_are_401(mutate):
    claims = {"sub": "x", "role": "regulator", "jurisdiction": "371100", "exp": int(time.time()) + 60,
              "iss": SETTINGS.jwt_issuer, "aud": SETTINGS.jwt_audience}
    token = jwt.encode(mutate(claims), SETTINGS.jwt_secret, algorithm="HS256")
    with pytest.raises(Problem) as raised:
        Authenticator(SETTINGS).verify(token)
    assert raised.value.status == 401


def test_a_token_signed_with_another_secret_is_401():
    token = issue_token(ServiceSettings(jwt_secret="another-secret-of-a-decent-length-0123456789"), role="admin")
    with pytest.raises(Problem):
        Authenticator(SETTINGS).verify(token)


def test_enterprise_principals_reach_only_their_own_enterprise():
    principal = Principal(sub="e", role="enterprise", enterprise="91371102MA3C5K0X1Q")
    assert principal.can_access_enterprise("91371102MA3C5K0X1Q", "371102")
    assert not principal.can_access_enterprise("91371102MA3C5K0X2Q", "371102")


def test_production_verifies_rs256_against_a_jwks_url():
    """A real JWKS document served over HTTP on loopback, as an identity provider would."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update(kid="k1", use="sig", alg="RS256")
    body = json.dumps({"keys": [jwk]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):  # type: ignore[no-untyped-def]
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        settings = ServiceSettings(jwt_algorithm="RS256",
                                   jwt_jwks_url=f"http://127.0.0.1:{server.server_port}/jwks.json")
        claims = {"sub": "idp-user", "role": "admin", "exp": int(time.time()) + 60, "iss": settings.jwt_issuer,
                  "aud": settings.jwt_audience}
        good = jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})
        assert Authenticator(settings).verify(good).role == "admin"
        assert asyncio.run(Authenticator(settings).verify_async(good)).sub == "idp-user"  # off the event loop
        forged = jwt.encode(claims, "a-shared-secret-of-a-decent-length-0123456789", algorithm="HS256",
                            headers={"kid": "k1"})
        with pytest.raises(Problem):
            Authenticator(settings).verify(forged)
    finally:
        server.shutdown()


@pytest.mark.parametrize("claims", [
    {"role": "regulator", "jurisdiction": 371100},
    {"role": "regulator", "jurisdiction": "3"},
    {"role": "regulator", "jurisdiction": "000000"},
    {"role": "regulator", "jurisdiction": ["371100"]},
    {"role": "enterprise", "enterprise": 12345},
])
def test_malformed_scope_claims_are_401_not_a_crash_later(claims):
    token = jwt.encode({"sub": "x", "exp": int(time.time()) + 60, "iss": SETTINGS.jwt_issuer,
                        "aud": SETTINGS.jwt_audience, **claims}, SETTINGS.jwt_secret, algorithm="HS256")
    with pytest.raises(Problem) as raised:
        Authenticator(SETTINGS).verify(token)
    assert raised.value.status == 401


@pytest.mark.parametrize("claims", [
    {"role": "admin", "scope": 123},
    {"role": "admin", "scope": True},
    {"role": "admin", "scope": {"read": True}},
    {"role": "admin", "scope": ["read", 2]},
    {"role": "admin", "scope": [["read"]]},
    {"role": "admin", "scope": [None]},
    {"role": "admin", "sub": 42},
    {"role": "admin", "sub": ["x"]},
    {"role": "admin", "sub": ""},
    {"role": "admin", "sub": "x" * 129},
    {"role": ["admin"]},
    {"role": {"admin": True}},
    {"role": 1},
    {"role": "enterprise", "enterprise": ["9" * 18]},
    {"role": "integrator", "jurisdiction": 371100.0},
], ids=repr)
def test_every_claim_of_the_wrong_type_is_a_clear_401(claims):
    base = {"sub": "x", "exp": int(time.time()) + 60, "iss": SETTINGS.jwt_issuer, "aud": SETTINGS.jwt_audience}
    token = jwt.encode({**base, **claims}, SETTINGS.jwt_secret, algorithm="HS256")
    with pytest.raises(Problem) as raised:
        Authenticator(SETTINGS).verify(token)
    assert raised.value.status == 401
    named = next(iter(set(claims) - {"role"}), "role")
    assert named in raised.value.detail or (named == "sub" and "Subject" in raised.value.detail), \
        raised.value.detail


@pytest.mark.parametrize(("scope", "expected"), [
    ("read write", {"read", "write"}), (["read", "write"], {"read", "write"}), ("", set()), ([], set()),
])
def test_a_scope_is_a_space_separated_string_or_a_list_of_strings(scope, expected):
    token = jwt.encode({"sub": "x", "role": "admin", "scope": scope, "exp": int(time.time()) + 60,
                        "iss": SETTINGS.jwt_issuer, "aud": SETTINGS.jwt_audience}, SETTINGS.jwt_secret,
                       algorithm="HS256")
    assert Authenticator(SETTINGS).verify(token).scopes == frozenset(expected)


@pytest.mark.parametrize(("claims", "may_write"), [
    ({}, True),  # no scope claim: every integrator scope, as before
    ({"scope": "registry:read registry:write"}, True),
    ({"scope": "registry:read"}, False),
    ({"scope": ""}, False),  # explicitly no scope: nothing
    ({"scope": []}, False),
])
def test_an_integrator_token_with_an_explicitly_empty_scope_grants_nothing(claims, may_write):
    token = jwt.encode({"sub": "x", "role": "integrator", "exp": int(time.time()) + 60, "iss": SETTINGS.jwt_issuer,
                        "aud": SETTINGS.jwt_audience, **claims}, SETTINGS.jwt_secret, algorithm="HS256")
    principal = Authenticator(SETTINGS).verify(token)
    assert principal.has_scope("registry:write") is may_write
    assert principal.has_scope("registry:read") is ("registry:read" in claims.get("scope", "registry:read"))
