"""``GET /media/{id}/play?token=``: a page a person can look at, playing the item with its link.

Server-rendered HTML, no build step and nothing from another site: a
``<video>`` or ``<audio>`` element (by the item's kind) whose ``src`` is the
stream with the same token, and one small script, ``/player.js``, served from
here, that logs one view with that token when playback first starts. The
token is checked like the stream's (403 problem when missing, forged, expired
or for another item; 404 once the item is deleted), so a page is never served
for a link the stream would refuse.

Its Content-Security-Policy allows scripts from this origin only (no inline
code), its one inline style by hash, media and fetches from this origin (and
the object store's, in redirect mode, where the stream answers 307 to it), and
nothing else. The URL carries a token: ``no-store`` and ``no-referrer``.
"""

from __future__ import annotations

import base64
import hashlib
import html
from typing import Any
from urllib.parse import quote, urlsplit

from litestar import Request, Response, get
from litestar.datastructures import ResponseHeader
from litestar.di import NamedDependency
from litestar.enums import MediaType
from litestar.params import FromPath, FromQuery

from klantroef_core.use_cases.media_streaming import OpenStream
from klantroef_http.dependencies import media_sources, public_base_url
from klantroef_http.hardening import TOKEN_HEADERS
from klantroef_http.problems import problem_responses
from klantroef_http.security import PUBLIC

PLAYER_SCRIPT_PATH = "/player.js"
STYLE = (
    "body{margin:0;font:16px/1.4 system-ui,sans-serif;background:#111;color:#eee}"
    "main{max-width:960px;margin:0 auto;padding:1rem}"
    "h1{font-size:1.25rem;font-weight:600;overflow-wrap:anywhere}"
    "video,audio{display:block;width:100%;max-height:80vh;background:#000}"
    "#status:empty{display:none}"
)
_STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()

PLAYER_SCRIPT = """\
"use strict";
(() => {
  const player = document.getElementById("player");
  const status = document.getElementById("status");
  if (!player) {
    return;
  }
  player.addEventListener("playing", () => {
    player.dataset.viewStatus = "sending";
    fetch(player.dataset.viewUrl, {
      method: "POST",
      cache: "no-store",
      credentials: "omit",
      referrerPolicy: "no-referrer",
      keepalive: true,
    }).then((response) => {
      player.dataset.viewStatus = String(response.status);
      if (!response.ok) {
        status.textContent = "This view was not logged (" + response.status + ").";
      }
    }, () => {
      player.dataset.viewStatus = "failed";
      status.textContent = "This view was not logged: the server could not be reached.";
    });
  }, {once: true});
  player.addEventListener("error", () => {
    status.textContent = "This media cannot be played: the link may have expired.";
  });
})();
"""


def play_page_policy(media_sources: tuple[str, ...] = ()) -> str:
    """The page's Content-Security-Policy; ``media_sources`` are origins the stream redirects to."""
    media = " ".join(("'self'", *media_sources))
    return "; ".join(
        (
            "default-src 'none'",
            "script-src 'self'",
            f"style-src 'sha256-{_STYLE_HASH}'",
            f"media-src {media}",
            "connect-src 'self'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        )
    )


def render_play_page(media_id: str, token: str, title: str, kind: str, prefix: str = "") -> str:
    """The page for one item: every value escaped; URLs on this origin, under ``prefix``
    (the path of ``KLANTROEF_PUBLIC_BASE_URL``, where a proxy serves the API below a path)."""
    query = f"?token={quote(token, safe='')}"
    item = f"{prefix}/media/{quote(media_id, safe='')}"
    tag = "video" if kind == "video" else "audio"
    extra = " playsinline" if tag == "video" else ""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>"
        f"<body><main><h1>{html.escape(title)}</h1>"
        f'<{tag} id="player" controls preload="metadata"{extra}'
        f' src="{html.escape(item + "/stream" + query)}"'
        f' data-view-url="{html.escape(item + "/view" + query)}"></{tag}>'
        '<p id="status" role="status"></p></main>'
        f'<script src="{html.escape(prefix + PLAYER_SCRIPT_PATH)}"></script></body></html>\n'
    )


@get(
    "/media/{media_id:str}/play",
    opt=PUBLIC,
    operation_id="playMedia",
    media_type=MediaType.HTML,
    responses=problem_responses(400, 403, 404, 503),
    response_headers=[
        *(ResponseHeader(name=name, value=value) for name, value in TOKEN_HEADERS.items()),
        ResponseHeader(
            name="Content-Security-Policy",
            value=play_page_policy(),
            documentation_only=True,
            description="Scripts, media and fetches from this origin only; no inline script.",
        ),
    ],
    response_description="The play page",
    summary="A page that plays the item with a stream link's token, and logs one view",
    description=(
        "HTML with a `<video>` or `<audio>` element streaming from `/stream` with the same "
        "token, under a strict Content-Security-Policy; its script logs one view with the "
        "token when playback first starts. The token is checked as the stream checks it."
    ),
    tags=["media"],
)
async def play_page(
    request: Request[Any, Any, Any],
    open_stream: NamedDependency[OpenStream],
    media_id: FromPath[str],
    token: FromQuery[str | None] = None,
) -> Response[str]:
    source = await open_stream(media_id, token)  # 403/404 as the stream would answer
    media = source.media
    prefix = urlsplit(public_base_url(request)).path.rstrip("/")
    page = render_play_page(media.id, token or "", media.title, media.type.value, prefix)
    policy = play_page_policy(media_sources(request))
    return Response(page, media_type=MediaType.HTML, headers={"content-security-policy": policy})


@get(
    PLAYER_SCRIPT_PATH,
    opt=PUBLIC,
    operation_id="getPlayerScript",
    media_type="text/javascript",
    summary="The play page's script: logs one view when playback first starts",
    response_description="JavaScript",
    tags=["media"],
)
async def player_script() -> Response[str]:
    return Response(PLAYER_SCRIPT, headers={"cache-control": "public, max-age=3600"})
