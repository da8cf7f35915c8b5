"""Exposure rules of `stratus server start`."""

from __future__ import annotations

from pathlib import Path

import pytest

from stratus.server.run import check_exposure, is_loopback
from stratus.server.state import StartupError


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2", "LOCALHOST"])
def test_loopback_hosts(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.0.0.5", "example.com"])
def test_non_loopback_needs_tls_or_insecure(host: str) -> None:
    with pytest.raises(StartupError, match="--insecure"):
        check_exposure(host, None, None, insecure=False)
    check_exposure(host, None, None, insecure=True)
    check_exposure(host, Path("c.pem"), Path("k.pem"), insecure=False)


def test_tls_files_go_together() -> None:
    with pytest.raises(StartupError, match="go together"):
        check_exposure("127.0.0.1", Path("c.pem"), None, insecure=False)
