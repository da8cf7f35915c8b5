"""Which browser origins may send writes (as MLflow's server refuses cross-origin writes since 3.5).

A page on another origin can make a browser send a POST with the user's cookie, or a bearer token it got
hold of, to a loopback server: the browser says where the page came from in the ``Origin`` header.
Writes whose Origin is present and is neither this server's own origin nor listed in
``STRATUS_ALLOWED_ORIGINS`` are refused. Clients that are not browsers (the ``mlflow`` client, the SDK,
curl) send no Origin and are unaffected.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from stratus.config import Settings

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalise_origin(origin: str) -> tuple[str, str, int] | None:
    """``(scheme, host, port)`` of an http(s) origin, lower case, the port made explicit; else None
    (``null``, other schemes, anything that is not an origin)."""
    try:
        parts = urlsplit(origin.strip())
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme.lower())
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    if parts.scheme.lower() not in _DEFAULT_PORTS or not host or port is None:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username or parts.password:
        return None
    return parts.scheme.lower(), host, port


def _host_and_port(host_header: str) -> tuple[str, int | None]:
    value = host_header.strip().lower()
    if value.startswith("["):  # [v6]:port
        host, _, rest = value[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif value.count(":") == 1:
        host, port = value.split(":")
    else:
        host, port = value, ""
    return host, int(port) if port.isdigit() else None


@dataclass(frozen=True)
class OriginPolicy:
    hosts: frozenset[str]  # the Host names served (STRATUS_ALLOWED_HOSTS and --host)
    port: int  # the port served
    listed: frozenset[tuple[str, str, int]]  # STRATUS_ALLOWED_ORIGINS

    @classmethod
    def from_settings(cls, settings: Settings) -> OriginPolicy:
        listed = {normalise_origin(o) for o in settings.allowed_origin_set()}
        return cls(settings.allowed_host_set(), settings.port, frozenset(o for o in listed if o))

    def allows(self, origin: str, host_header: str | None) -> bool:
        """Whether a page of ``origin`` may write to this server, reached through ``host_header``."""
        parsed = normalise_origin(origin)
        if parsed is None:
            return False
        if parsed in self.listed:
            return True
        scheme, host, port = parsed
        if host_header is not None:  # the very origin the request was sent to
            served_host, served_port = _host_and_port(host_header)
            if host == served_host and port == (served_port or _DEFAULT_PORTS[scheme]):
                return True
        return host in self.hosts and port == self.port
