"""The application factory: settings → logging → subsystems → blueprints."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from hotline import db
from hotline.config import Settings


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app; `test_config` overrides `Settings` fields (tests, benchmarks)."""
    settings = Settings.from_env(overrides=test_config).validate()
    _configure_logging(settings)
    app = Flask(__name__, instance_path=str(settings.instance_path))
    app.config.update(
        SETTINGS=settings, SECRET_KEY=settings.secret_key, TESTING=settings.env == "test"
    )
    if any(
        (
            settings.proxy_x_for,
            settings.proxy_x_proto,
            settings.proxy_x_host,
            settings.proxy_x_port,
            settings.proxy_x_prefix,
        )
    ):
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app,
            x_for=settings.proxy_x_for,
            x_proto=settings.proxy_x_proto,
            x_host=settings.proxy_x_host,
            x_port=settings.proxy_x_port,
            x_prefix=settings.proxy_x_prefix,
        )

    from hotline.flows import load_checked_flows
    from hotline.knowledge import ivr as faq_intents
    from hotline.orders import case_ivr as case_intents
    from hotline.orders import ivr as order_intents
    from hotline.orders.runtime import load_runtime
    from hotline.queues import api as queue_api
    from hotline.queues import ivr as queue_intents
    from hotline.redis_store import redis_client
    from hotline.voice.state import CallStateStore

    app.extensions["hotline.flows"] = load_checked_flows(settings)
    app.extensions["hotline.orders"] = load_runtime(settings)
    order_intents.init_app(app)
    case_intents.init_app(app)
    faq_intents.init_app(app)
    queue_intents.init_app(app)
    db.init_app(app)
    app.extensions["hotline.call_states"] = CallStateStore(
        lambda: redis_client(settings), settings.call_state_ttl_s
    )

    from hotline import api, console, health, logs, metrics, security, voice

    logs.init_app(app)
    app.register_blueprint(voice.bp)
    app.register_blueprint(health.bp)
    api.init_app(app)
    queue_api.init_app(app)
    metrics.init_app(app)
    console.init_app(app)
    security.init_app(app)  # after the blueprints: it rate-limits the API's
    return app


def _configure_logging(settings: Settings) -> None:
    from hotline.logs import configure

    configure(settings)
