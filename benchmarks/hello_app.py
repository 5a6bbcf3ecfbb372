"""The hello-world ceiling: the smallest Litestar app, served exactly as ``klantroef serve`` serves.

``python -m benchmarks.hello_app --server granian --port 8001`` starts it with the
same server options as ``klantroef_app.cli`` uses (one worker, no access log),
so the gap between this and a Klantroef route is the cost of Klantroef itself.
"""

from __future__ import annotations

import argparse

from litestar import Litestar, get


@get("/hello", cache=False)
async def hello() -> dict[str, str]:
    """A small JSON body, as small as the framework allows."""
    return {"hello": "world"}


app = Litestar(route_handlers=[hello])


def main() -> None:
    """Serve ``app`` with granian or uvicorn, one worker, as the product's CLI does."""
    parser = argparse.ArgumentParser(description="Litestar hello-world for benchmarks")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--server", choices=("granian", "uvicorn"), default="granian")
    args = parser.parse_args()
    target = "benchmarks.hello_app:app"
    if args.server == "uvicorn":
        import uvicorn

        uvicorn.run(
            target, host=args.host, port=args.port, workers=1, log_level="info", access_log=False
        )
        return
    from granian import Granian
    from granian.constants import Interfaces

    Granian(target, address=args.host, port=args.port, interface=Interfaces.ASGI, workers=1).serve()


if __name__ == "__main__":
    main()
