"""``safegrid token``: the development JWT the README's steps use, accepted as the services
verify bearer tokens."""

from __future__ import annotations

import jwt
from typer.testing import CliRunner

from services.cli import app
from shared.auth import Authenticator, Principal
from shared.config import ServiceSettings


def token(*args: str) -> str:
    result = CliRunner().invoke(app, ["token", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    [printed] = result.stdout.splitlines()  # the token alone, so that TOKEN=$(safegrid token …) works
    return printed


def test_the_printed_token_is_one_the_services_accept():
    verify = Authenticator(ServiceSettings()).verify
    assert verify(token("--role", "admin")) == Principal(sub="dev-admin", role="admin")
    assert verify(token("--role", "regulator", "--jurisdiction", "371102", "--sub", "inspector-wang")) == Principal(
        sub="inspector-wang", role="regulator", jurisdiction="371102")
    uscc = "91371102MA3RP0002H"
    assert verify(token("--role", "enterprise", "--enterprise", uscc)) == Principal(
        sub="dev-enterprise", role="enterprise", enterprise=uscc)


def test_the_lifetime_is_the_ttl_asked_for():
    claims = jwt.decode(token("--role", "admin", "--ttl", "60"), options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 60


def test_an_unknown_role_is_a_usage_error():
    result = CliRunner().invoke(app, ["token", "--role", "mayor"])
    assert result.exit_code == 2 and "role must be one of" in result.output
