"""`/healthz`: is each dependency reachable, and what the IVR can do right now."""

from __future__ import annotations

import time
from typing import Any

import redis
from flask import Blueprint, current_app, jsonify, request
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from hotline.db import get_db
from hotline.redis_store import redis_client

bp = Blueprint("health", __name__)


def _timed(check: Any) -> dict[str, Any]:
    start = time.perf_counter()
    try:
        detail = check()
        result: dict[str, Any] = {"ok": True}
        if detail:
            result["detail"] = detail
    except (SQLAlchemyError, redis.RedisError, OSError, RuntimeError) as exc:
        result = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    result["ms"] = round((time.perf_counter() - start) * 1000, 1)
    return result


def dependency_report() -> dict[str, Any]:
    settings = current_app.config["SETTINGS"]

    def database() -> str:
        with get_db().engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return get_db().engine.dialect.name

    def redis_check() -> str:
        redis_client(settings).ping()
        return "embedded" if settings.embedded_redis else "external"

    checks = {
        "database": _timed(database),
        "redis": _timed(redis_check),
        "flows": {"ok": True, "detail": sorted(current_app.extensions["hotline.flows"])},
        # The speech issue replaces this with the loaded model; until then the IVR is DTMF-only.
        "speech": {"ok": True, "detail": "dtmf-only: no speech model configured"},
    }
    return checks


@bp.get("/healthz")
def healthz() -> Any:
    """200 while the web process can answer calls (even degraded); `?strict=1` → 503 if any
    dependency is down, for readiness probes."""
    checks = dependency_report()
    healthy = all(c["ok"] for c in checks.values())
    body = {"status": "ok" if healthy else "degraded", "checks": checks}
    code = 503 if (request.args.get("strict") and not healthy) else 200
    return jsonify(body), code
