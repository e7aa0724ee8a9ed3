"""gunicorn settings for the web process (`gunicorn -c python:hotline.gunicorn_conf`)."""

import os

bind = f"{os.environ.get('HOTLINE_HOST', '127.0.0.1')}:{os.environ.get('PORT', '5000')}"
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Each console live stream (SSE) holds one of these threads for up to HOTLINE_SSE_MAX_DURATION_S;
# at most HOTLINE_SSE_MAX_CONNECTIONS per process, so the rest stay free for Twilio's webhooks.
threads = int(os.environ.get("HOTLINE_WEB_THREADS", "8"))
# Twilio gives a webhook 15 s; a request still running at 30 s is stuck, not slow.
timeout = 30
graceful_timeout = 10
keepalive = 5
accesslog = os.environ.get("HOTLINE_ACCESS_LOG") or None
