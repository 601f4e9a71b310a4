"""The ASGI application: contract routes, WebSocket, GraphQL, docs, metrics, errors and
middleware."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache

from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from concord_server.api.dispatch import Dispatcher
from concord_server.api.graphql import graphql_routes
from concord_server.api.rest.console import console_routes
from concord_server.api.rest.docs import docs_routes
from concord_server.api.rest.lane import ContractLane
from concord_server.api.rest.problem import failure_response, problem_response
from concord_server.api.rest.route_index import RouteIndex
from concord_server.api.rest.transcoder import contract_routes
from concord_server.api.rpcs import all_rpcs
from concord_server.api.ws import websocket_route
from concord_server.config import Settings
from concord_server.errors import ConcordError, ErrorCode
from concord_server.middleware.envelope import HttpEnvelope
from concord_server.middleware.metrics import metrics_route
from concord_server.runtime import Runtime
from concord_server.telemetry.tracing import server_version, setup_tracing, shutdown_tracing

log = logging.getLogger("concord.app")
_VERB = re.compile(r"[a-z][A-Za-z]*")  # a custom method's name: `:acquire`, `:batchGet`


def _request_id(request: Request) -> str:
    return str(request.scope.get("state", {}).get("request_id", ""))


async def _concord_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ConcordError)
    return problem_response(exc, _request_id(request))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return problem_response(_http_failure(request, exc), _request_id(request))


@cache
def _custom_verbs() -> frozenset[str]:
    """The AIP-136 custom methods the contract has (`acquire`, `batchGet`, ...)."""
    return frozenset(r.http_path.rsplit(":", 1)[1] for r in all_rpcs() if ":" in r.http_path)


def _http_failure(request: Request, exc: HTTPException) -> ConcordError:
    """The catalogue error of a routing failure: no route (404), wrong method (405)."""
    path = request.url.path
    _, colon, verb = path.rsplit("/", 1)[-1].rpartition(":")
    verb = verb if colon else ""
    if exc.status_code == 405 and _VERB.fullmatch(verb) and verb not in _custom_verbs():
        return ConcordError(
            ErrorCode.NOT_FOUND, f"no custom method :{verb} on {path.rsplit(':', 1)[0]}"
        )
    if exc.status_code == 404:
        return ConcordError(ErrorCode.NOT_FOUND, f"no route for {request.method} {path}")
    if exc.status_code == 405:
        message = f"method {request.method} is not allowed on {path}"
        return ConcordError(ErrorCode.METHOD_NOT_ALLOWED, message, headers=dict(exc.headers or {}))
    return ConcordError(ErrorCode.INVALID_ARGUMENT, str(exc.detail))


async def _unexpected(request: Request, exc: Exception) -> Response:
    return failure_response(exc, request.method, request.url.path, _request_id(request))


def install_http_behaviour(app: Starlette, settings: Settings) -> None:
    """Contract error bodies for every failure, request ids, access logs, metrics and CORS.

    Shared by `create_app` and by tests that build an app around a hand-made dispatcher.
    """
    app.add_exception_handler(ConcordError, _concord_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "DELETE", "OPTIONS"],
            allow_headers=["*"],
            expose_headers=["X-Request-ID", "Retry-After", "Idempotent-Replayed", "traceparent"],
            max_age=600,
        )
    app.add_middleware(HttpEnvelope)


class ConcordApp(FastAPI):
    """FastAPI with the fast lane of unary contract RPCs in front (api/rest/lane.py)."""

    lane: ContractLane | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        lane = self.lane
        child = lane.match(scope) if lane is not None else None
        if lane is None or child is None:
            await super().__call__(scope, receive, send)
        else:
            await lane.serve(child, scope, receive, send)


def install_contract_routes(app: ConcordApp, dispatcher: Dispatcher, settings: Settings) -> None:
    """The contract's routes ahead of every other route, served by the lane when unary."""
    routes = contract_routes(dispatcher, settings.max_body_bytes)
    app.router.routes[:0] = routes
    index = next(r for r in routes if isinstance(r, RouteIndex))
    unary = frozenset(r.name for r in dispatcher.rpcs if not r.server_streaming)
    app.lane = ContractLane(index, unary, cors=bool(settings.cors_origins))


def create_app(settings: Settings, runtime: Runtime | None = None) -> ConcordApp:
    """The application; its lifespan starts the runtime (storage, domains, gRPC)."""
    rt = runtime or Runtime(settings)

    @asynccontextmanager
    async def lifespan(app: ConcordApp) -> AsyncIterator[None]:
        traced = setup_tracing(settings.otlp_endpoint, server_version()) is not None
        dispatcher = await rt.start()
        install_contract_routes(app, dispatcher, settings)
        app.router.routes.append(websocket_route(dispatcher, settings))
        app.router.routes.extend(graphql_routes(dispatcher, settings))
        if settings.grpc_port >= 0:
            port = await rt.start_grpc()
            log.info("gRPC listening on %s:%d", settings.http_host, port)
        try:
            yield
        finally:
            await rt.stop()
            if traced:
                shutdown_tracing()  # flushes the spans still in the batch

    app = ConcordApp(
        title="Concord",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.runtime = rt
    for route in [*docs_routes(settings), *console_routes(settings), metrics_route()]:
        app.router.routes.append(route)
    install_http_behaviour(app, settings)
    return app
