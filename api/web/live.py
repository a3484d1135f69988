"""Pages that change while someone watches them (a timeline, a delivery status) refresh a part of themselves.

An element with `data-live="<fragment url>"` is fetched again by static/live.js every few seconds with the ETag it
last saw; the fragment route answers 304 while nothing changed, so a page left open costs one small read per poll
and its HTML is swapped only when the state behind it changed. Polling rather than a push channel: a departure's
state lives in the store that every route already reads, and polling survives proxies and restarts untouched."""

from __future__ import annotations

import hashlib

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

POLL_SECONDS = 5  # live.js default; an element may say data-live-every="<seconds>"


def etag_of(body: str) -> str:
    return '"' + hashlib.sha256(body.encode()).hexdigest()[:32] + '"'


def live_response(request: Request, body: str, status_code: int = 200) -> Response:
    """The fragment, or 304 when the browser already holds this very HTML."""
    etag = etag_of(body)
    headers = {"ETag": etag, "Cache-Control": "no-cache, private", "Vary": "Cookie"}
    sent = request.headers.get("if-none-match", "")
    if status_code == 200 and etag in (tag.strip() for tag in sent.split(",")):
        return Response(status_code=304, headers=headers)
    return HTMLResponse(body, status_code=status_code, headers=headers)
