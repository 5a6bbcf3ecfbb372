"""Nothing on the request path is handed to a worker thread.

Litestar runs a plain-function guard, ``before_send`` hook or dependency in a
thread pool; a thread hop per request cost more than the rest of a request did.
"""

from __future__ import annotations

import inspect

from litestar.handlers import HTTPRouteHandler

from klantroef_app import Settings, in_memory
from klantroef_app.asgi import build_app


def test_guards_hooks_and_dependencies_run_on_the_event_loop() -> None:
    app = build_app(in_memory(Settings()))
    for hook in app.before_send:
        assert inspect.iscoroutinefunction(getattr(hook, "func", hook)), hook
    handlers = [
        handler
        for route in app.routes
        for handler in getattr(route, "route_handlers", ())
        if isinstance(handler, HTTPRouteHandler)
    ]
    assert handlers
    for handler in handlers:
        for guard in handler.resolve_guards():
            assert inspect.iscoroutinefunction(getattr(guard, "func", guard)), (handler, guard)
        for name, provide in handler.resolve_dependencies().items():
            assert not provide.sync_to_thread, (handler, name)
