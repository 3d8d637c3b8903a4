"""Fixtures of the end-to-end tests: the platform started as `make run` starts it (support.py)."""

from __future__ import annotations

import pytest

from tests.e2e.support import running_platform


@pytest.fixture
def platform_env() -> dict[str, str]:
    """Extra environment for every process of the platform; a test module overrides it."""
    return {}


@pytest.fixture
def platform(tmp_path, platform_env):  # type: ignore[no-untyped-def]
    """``safegrid dev --no-demo`` on free ports, every service ready; Ctrl-C afterwards."""
    with running_platform(tmp_path, platform_env) as running:
        yield running

