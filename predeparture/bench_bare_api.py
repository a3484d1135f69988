"""The yardstick of the api benchmark: a FastAPI app with one route that returns a small JSON document.

It runs under uvicorn with the same options as the real API, so what is left between the two is the real route's
own work: its token check, its store reads, its response model. Nothing else belongs here, or the yardstick grows.

    python -m uvicorn predeparture.bench_bare_api:app --host 127.0.0.1 --port 8001
"""

from __future__ import annotations

from fastapi import FastAPI

PATH = "/bare"

app = FastAPI(title="predeparture bench: bare route")


@app.get(PATH)
async def bare() -> dict[str, str]:
    return {"status": "ok"}
