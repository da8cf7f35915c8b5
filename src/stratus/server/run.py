"""Run the server in the foreground until Ctrl-C or SIGTERM (uvicorn shuts down gracefully on both)."""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import logging
import logging.handlers
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import uvicorn

from stratus import local_server
from stratus.config import LOOPBACK_HOSTS, Settings
from stratus.secrets.redact import RedactingFilter
from stratus.server.app import create_app
from stratus.server.state import StartupError, bootstrap, prepare_home

log = logging.getLogger("stratus.server")


class _Server(uvicorn.Server):
    """Uvicorn re-raises SIGTERM/SIGINT after its graceful shutdown, killing the process before our own
    clean-up runs. Forget the captured signal instead: we close the store, log, and exit 0.

    Once it listens, the server records ``local_url`` in ``<home>/server.json`` for the CLI and SDK on
    this machine; the record goes when it stops."""

    def __init__(self, config: uvicorn.Config, home: Path, local_url: str) -> None:
        super().__init__(config)
        self.home = home
        self.local_url = local_url

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        with super().capture_signals():
            yield
            self._captured_signals.clear()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if not self.should_exit:
            local_server.announce(self.home, self.local_url)


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_exposure(host: str, ssl_certfile: Path | None, ssl_keyfile: Path | None, insecure: bool) -> None:
    if (ssl_certfile is None) != (ssl_keyfile is None):
        raise StartupError("--ssl-certfile and --ssl-keyfile go together: give both or neither")
    if not is_loopback(host) and ssl_certfile is None and not insecure:
        raise StartupError(
            f"refusing to listen on {host} without TLS: tokens would cross the network in clear text; "
            "give --ssl-certfile and --ssl-keyfile, or --insecure if something else terminates TLS"
        )


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _is_unspecified(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_unspecified
    except ValueError:  # a name, not an address
        return False


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound before the banner: a port in use is a clear error, not a traceback
    after the token was printed."""
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        return socket.create_server((host, port), family=family, backlog=2048)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise StartupError(
                f"port {port} on {host} is busy: another server (perhaps Stratus) listens there; stop it "
                "or start with --port (0 picks a free one; the CLI finds it through <home>/server.json)"
            ) from None
        raise StartupError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def configure_logging(settings: Settings) -> Path:
    log_file = settings.logs_dir / "server.log"
    handler = logging.handlers.RotatingFileHandler(log_file, maxBytes=10 * 1024 * 1024, backupCount=5)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    console = logging.StreamHandler()
    console.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    console.setLevel(logging.WARNING)
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    for existing in list(root.handlers):
        root.removeHandler(existing)
    for target in (handler, console):
        target.addFilter(RedactingFilter())
        root.addHandler(target)
    return log_file


def serve(
    settings: Settings,
    *,
    ssl_certfile: Path | None = None,
    ssl_keyfile: Path | None = None,
    insecure: bool = False,
    announce: bool = True,
) -> None:
    check_exposure(settings.host, ssl_certfile, ssl_keyfile, insecure)
    listener = bind(settings.host, settings.port)  # a busy port is said before anything else happens
    os.umask(0o077)  # the database, logs and artifacts are the server's own: nobody else reads them
    prepare_home(settings)
    log_file = configure_logging(settings)
    state = bootstrap(settings)
    scheme = "https" if ssl_certfile else "http"
    port = listener.getsockname()[1]  # the port bound (--port 0: a free one)
    url = f"{scheme}://{_url_host(settings.host)}:{port}"
    # Bound on every address: this machine's CLI reaches it on loopback.
    local_host = settings.host
    if _is_unspecified(local_host):
        local_host = "::1" if ":" in local_host else "127.0.0.1"
    local_url = f"{scheme}://{_url_host(local_host)}:{port}"
    if announce:
        print(f"Stratus server on {url}  (home {settings.resolved_home}, logs {log_file})", flush=True)
        if state.new_admin_token:
            print(
                f"Server-admin token (shown only now, also saved to {settings.admin_token_path}):", flush=True
            )
            print(f"  {state.new_admin_token}", flush=True)
        else:
            print(f"Server-admin token: in {settings.admin_token_path}", flush=True)
        print(f"MLflow tracking URI of the default workspace: {url}/workspaces/default", flush=True)
    log.info("starting on %s", url)
    config = uvicorn.Config(
        create_app(state),
        host=settings.host,
        port=settings.port,
        ssl_certfile=str(ssl_certfile) if ssl_certfile else None,
        ssl_keyfile=str(ssl_keyfile) if ssl_keyfile else None,
        log_config=None,
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=15,
        proxy_headers=False,
        ws="none",  # no WebSocket routes: leaves uvicorn's websockets implementation unimported
    )
    try:
        _Server(config, settings.resolved_home, local_url).run(sockets=[listener])
    finally:
        listener.close()
        local_server.withdraw(settings.resolved_home)
        state.close()
        log.info("stopped")
