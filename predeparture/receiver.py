"""A reference webhook receiver, for a reception team to run as it is or to copy: it takes arrival manifests,
refuses any whose signature is missing, wrong or stale, and keeps each delivery once however often it comes.

    PREDEPARTURE_RECEIVER_SECRET=... uvicorn --factory predeparture.receiver:receiver_from_env

The secret is the one registered with the sender for this team's endpoint (its UTF-8 bytes). Manifests are kept in
SQLite (PREDEPARTURE_RECEIVER_DATABASE, a file path; in memory by default). `GET /received` lists what came by
delivery id, movement and version only: names stay in the database, since this listing has no login in front of it."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from domain.webhooks import DELIVERY_HEADER, SIGNATURE_HEADER, ManifestEvent, ManifestNotice, SignatureError, verify

MANIFEST_PATH = "/webhooks/manifests"
MAX_BODY_BYTES = 2 * 1024 * 1024  # a full charter's manifest is well under this

SCHEMA = """
CREATE TABLE IF NOT EXISTS received (
    delivery_id TEXT PRIMARY KEY,
    movement_id TEXT NOT NULL,
    organisation_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    event TEXT NOT NULL,
    final INTEGER NOT NULL,
    passengers INTEGER NOT NULL,
    received_at TEXT NOT NULL,
    body BLOB NOT NULL
)"""


class Received(BaseModel):
    """One delivery as the receiver kept it, without the people on it."""

    delivery_id: str
    movement_id: str
    organisation_id: str
    version: int
    event: ManifestEvent
    final: bool
    passengers: int
    received_at: datetime


class ReceivedManifests:
    """The delivery id is the key: the first copy is kept, any later copy of the same delivery adds nothing."""

    def __init__(self, path: str = ":memory:") -> None:
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute(SCHEMA)

    def keep(self, notice: ManifestNotice, body: bytes) -> bool:
        """False when this delivery was already kept."""
        with self._lock:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO received VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (notice.delivery_id, notice.movement_id, notice.organisation_id, notice.version, notice.event.value,
                 int(notice.final), len(notice.passengers), datetime.now(UTC).isoformat(), body),
            )
            return cursor.rowcount == 1

    def listing(self) -> list[Received]:
        with self._lock:
            rows = self._db.execute(
                "SELECT delivery_id, movement_id, organisation_id, version, event, final, passengers, received_at "
                "FROM received ORDER BY rowid"
            ).fetchall()
        names = list(Received.model_fields)
        return [Received.model_validate(dict(zip(names, row, strict=True))) for row in rows]

    def manifest(self, delivery_id: str) -> ManifestNotice | None:
        with self._lock:
            row = self._db.execute("SELECT body FROM received WHERE delivery_id = ?", (delivery_id,)).fetchone()
        return ManifestNotice.model_validate_json(row[0]) if row else None


def _refuse(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)


def build_receiver(secret: bytes, received: ReceivedManifests | None = None,
                   clock: Callable[[], float] = time.time) -> FastAPI:
    kept = received or ReceivedManifests()
    app = FastAPI(title="predeparture reference manifest receiver", version="1")
    app.state.received = kept

    @app.post(MANIFEST_PATH, summary="An arrival manifest version, signed by the sender")
    async def take_manifest(request: Request) -> JSONResponse:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            return _refuse(413, "body too large")
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return _refuse(413, "body too large")
        try:
            verify(secret, request.headers.get(SIGNATURE_HEADER), body, clock())
        except SignatureError as refused:
            return _refuse(401, str(refused))
        try:
            notice = ManifestNotice.model_validate_json(body)
        except ValidationError:
            return _refuse(422, "not a manifest notice")  # the errors would quote the body, names included
        # The header is not signed, the body is: the two must agree, and the body's id is the one kept.
        if request.headers.get(DELIVERY_HEADER) != notice.delivery_id:
            return _refuse(400, f"{DELIVERY_HEADER} does not match the signed body")
        new = kept.keep(notice, body)
        return JSONResponse({"delivery_id": notice.delivery_id, "duplicate": not new})

    @app.get("/received", summary="What came, by delivery, movement and version (no names)")
    async def listing() -> list[Received]:
        return kept.listing()

    return app


def receiver_from_env() -> FastAPI:
    secret = os.environ.get("PREDEPARTURE_RECEIVER_SECRET")
    if not secret:
        raise RuntimeError("set PREDEPARTURE_RECEIVER_SECRET to the secret registered for this endpoint")
    path = os.environ.get("PREDEPARTURE_RECEIVER_DATABASE", ":memory:")
    return build_receiver(secret.encode(), ReceivedManifests(path))
