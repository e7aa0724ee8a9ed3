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
        "speech": speech_report(settings),
    }
    return checks


def speech_report(settings: Any) -> dict[str, Any]:
    """Whether callers can speak right now, and if not why: DTMF-only is a working state."""
    from hotline.speech.channel import SpeechChannel, stream_url
    from hotline.speech.models import status

    languages = sorted(
        {lang for f in current_app.extensions["hotline.flows"].values() for lang in f.languages}
    )
    models = status(settings, languages)
    hearing = SpeechChannel(lambda: redis_client(settings)).listening_languages()
    url = stream_url(settings)
    if not any(not state.startswith("dtmf-only") for state in models.values()):
        detail = "dtmf-only: no speech model installed (hotline models list)"
    elif not url:
        detail = "dtmf-only: no stream URL (HOTLINE_SPEECH_STREAM_URL or PUBLIC_BASE_URL)"
    elif not hearing:
        detail = "dtmf-only: the stream process (hotline stream) is not running"
    else:
        detail = "speech in " + ", ".join(hearing)
    return {"ok": True, "detail": detail, "models": models, "stream": url or None}


@bp.get("/healthz")
def healthz() -> Any:
    """200 while the web process can answer calls (even degraded); `?strict=1` → 503 if any
    dependency is down, for readiness probes."""
    checks = dependency_report()
    healthy = all(c["ok"] for c in checks.values())
    body = {"status": "ok" if healthy else "degraded", "checks": checks}
    code = 503 if (request.args.get("strict") and not healthy) else 200
    return jsonify(body), code
