"""``RouteMemo``: remembers which route served a path, so a repeated request skips the linear route scan.

The router tries its ~280 routes in order, one regular expression each, for every request: on the MLflow
logging routes that scan was the largest single cost of the request after the database. Which route
serves a request depends only on the scope's type, method and path (no route here matches on headers or
host), so the first route that matched a key in full serves every later request with the same key.

The memo sits where the router calls its own ``app``; it never picks a route the router would not:
- a key is remembered only after the router itself dispatched the request to a route that matches it in
  full (a 405's partial match, a slash redirect and a 404 are never remembered);
- a remembered route must match the request again in full before it serves it, its path parameters
  coming from that match;
- the memo steps aside whenever the router does more than match and handle (telemetry naming the route,
  form limits, routes included with their own context), so those paths stay exactly FastAPI's.
Every route served is still the ``SecuredRoute`` in ``app.routes`` that the route-table test walks.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

# Paths with names, versions and artifact paths in them are many; the logging and search routes few.
MEMO_SIZE = 2048
Key = tuple[str, str, str]  # method, root path, path (HTTP only)


class RouteMemo:
    def __init__(self, router: Any, size: int = MEMO_SIZE) -> None:
        self.router = router
        self.dispatch: ASGIApp = router.app
        self.size = size
        self.routes: OrderedDict[Key, APIRoute] = OrderedDict()
        # Form limits set on the router make it write them into each scope: then it always dispatches.
        self.enabled = not getattr(router, "form_limits", None)

    def _plain(self, scope: Scope) -> bool:
        """True when the router would only match and handle (see the module docstring)."""
        return (
            self.enabled
            and scope["type"] == "http"
            and "fastapi.telemetry" not in scope
            and "fastapi" not in scope
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._plain(scope):
            await self.dispatch(scope, receive, send)
            return
        key = (scope["method"], scope.get("root_path", ""), scope["path"])
        route = self.routes.get(key)
        if route is not None:
            match, child_scope = route.matches(scope)
            if match is Match.FULL and "fastapi" not in child_scope:
                self.routes.move_to_end(key)
                scope.setdefault("router", self.router)
                scope.update(child_scope)
                await route.handle(scope, receive, send)
                return
            del self.routes[key]
        await self.dispatch(scope, receive, send)
        self._remember(key, scope)

    def _remember(self, key: Key, scope: Scope) -> None:
        route = scope.get("route")
        if not isinstance(route, APIRoute):
            return
        if route.matches(scope)[0] is not Match.FULL:  # the match reads only type, method and path
            return
        self.routes[key] = route
        if len(self.routes) > self.size:
            self.routes.popitem(last=False)


def memoize_routes(app: FastAPI) -> RouteMemo:
    """Put a ``RouteMemo`` between the app's router and its route scan; returns it (tests read it)."""
    memo = RouteMemo(app.router)
    app.router.middleware_stack = memo
    return memo
