"""The ASGI hello-world peer: one POST route that reads the body and answers 201 with JSON.

    python benchmarks/_hello_app.py PORT

Served by uvicorn with the settings the pool uses (log level warning, no access log).
"""

from __future__ import annotations

import sys

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

app = FastAPI()


@app.post("/api/v1/jobs", status_code=201)
async def submit(request: Request):
    body = await request.body()
    return JSONResponse({"id": "hello", "state": "queued", "size": len(body)}, status_code=201)


@app.get("/api/v1/health")
async def health():
    return {"status": "ok"}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
