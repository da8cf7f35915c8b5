"""HTTP transport of the SDK: JSON in, JSON out, Stratus errors raised from error bodies."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import httpx

from stratus._version import __version__
from stratus.errors import ERRORS_BY_STATUS, StratusError


class Transport:
    def __init__(self, url: str, token: str | None, *, timeout: float = 60.0) -> None:
        self.url = url.rstrip("/")
        headers = {"User-Agent": f"stratus-sdk/{__version__}", "Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._client = httpx.Client(base_url=self.url, headers=headers, timeout=timeout)

    def close(self) -> None:
        self._client.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
    ) -> Any:
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            # Never pass an empty dict: httpx would replace the query of a next_link with it.
            response = self._client.request(method, path, json=json, params=clean or None)
        except httpx.ConnectError as exc:
            raise StratusError(
                f"cannot reach the Stratus server at {self.url}: start it with 'make run' or "
                "'stratus server start', or point STRATUS_URL / 'stratus login --url' at it",
                code="UNREACHABLE",
            ) from exc
        except httpx.HTTPError as exc:
            raise StratusError(f"request to {self.url}{path} failed: {exc}", code="TRANSPORT_ERROR") from exc
        return self._decode(response)

    def request_raw(self, method: str, path: str, *, content: Any) -> Any:
        """A request with a raw (possibly streamed) body; the answer is decoded like ``request``'s."""
        try:
            response = self._client.request(method, path, content=content)
        except httpx.HTTPError as exc:
            raise StratusError(f"request to {self.url}{path} failed: {exc}", code="TRANSPORT_ERROR") from exc
        return self._decode(response)

    @contextlib.contextmanager
    def stream(self, method: str, path: str, *, follow: bool = False) -> Iterator[httpx.Response]:
        """A streamed response, raised as a Stratus error when it is not a success. ``follow`` waits on
        reads without a limit (a log the server writes as work goes on may stay silent for long)."""
        timeout = httpx.Timeout(self._client.timeout.connect, read=None) if follow else self._client.timeout
        try:
            with self._client.stream(method, path, timeout=timeout) as response:
                if not response.is_success:
                    response.read()
                    self._decode(response)
                yield response
        except httpx.HTTPError as exc:
            raise StratusError(f"request to {self.url}{path} failed: {exc}", code="TRANSPORT_ERROR") from exc

    @staticmethod
    def _decode(response: httpx.Response) -> Any:
        if (response.status_code == 204 or not response.content) and response.is_success:
            return None
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.is_success:
            return body
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict):
            message = str(error.get("message") or response.reason_phrase)
            field = error.get("field")
            code = error.get("code")
        elif isinstance(body, dict) and "error_code" in body:  # MLflow's shape, from the MLflow routes
            message, field, code = str(body.get("message")), None, str(body["error_code"])
        else:
            message, field, code = f"HTTP {response.status_code}: {response.text[:200]}", None, None
        cls = ERRORS_BY_STATUS.get(response.status_code, StratusError)
        exc = cls(message, field=field, code=code)
        exc.status_code = response.status_code
        raise exc

    def paged(self, path: str, params: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Every item of a list route, following ``next_link``."""
        body = self.request("GET", path, params=params)
        seen: set[str] = set()
        while True:
            yield from body.get("value", [])
            next_link = body.get("next_link")
            if not next_link:
                return
            if next_link in seen:  # a server bug must not become an endless loop here
                raise StratusError(f"the server repeated next_link {next_link}", code="PAGING_LOOP")
            seen.add(next_link)
            # Only the path and query: the token goes to the server we were given, never to a host a
            # response names.
            link = httpx.URL(next_link)
            body = self.request("GET", link.raw_path.decode("ascii"))
