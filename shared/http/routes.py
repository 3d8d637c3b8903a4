"""The app's API routes, flattened: what the router serves at a path, for 405s and middleware."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from fastapi import routing
from fastapi.routing import APIRoute


def api_routes(routes: Iterable[Any]) -> Iterator[Any]:
    """Every API route, as the router and the document generator see it: FastAPI >= 0.16x keeps
    included routers nested (``iter_route_contexts`` flattens them, prefixes and dependencies
    applied); each item has ``path_format``, ``path_regex``, ``methods``, ``dependant``."""
    iter_contexts = getattr(routing, "iter_route_contexts", None)
    if iter_contexts is None:  # older FastAPI copies included routes into the app's own list
        yield from (route for route in routes if isinstance(route, APIRoute))
        return
    for context in iter_contexts(list(routes)):
        if isinstance(context.original_route, APIRoute):
            yield context


def route_path(scope: Any) -> str:
    """The path the routes match: the request's path without the root path it is served under
    (a proxy's prefix, uvicorn --root-path), as Starlette's router strips it."""
    path, root = scope["path"], scope.get("root_path", "")
    return path[len(root):] if root and path.startswith(root + "/") else path


def methods_at(app: Any, path: str) -> set[str]:
    """Every method some route of ``app`` serves at ``path``."""
    methods: set[str] = set()
    for route in api_routes(app.router.routes):
        if route.path_regex.match(path):
            methods |= set(route.methods or ())
    return methods
