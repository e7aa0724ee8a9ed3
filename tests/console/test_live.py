"""Live events over SSE: published after the commit of a move, streamed with ids a
reconnecting browser can resume from, limited in number and duration per process."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import redis
from flask import Flask

from hotline import create_app
from hotline.config import Settings
from hotline.db import Database
from hotline.live import handler_channel, publish
from hotline.users.roles import Role
from tests.console.conftest import ConsoleUser, console_overrides, logged_in


@pytest.fixture(scope="module")
def live_app(settings: Settings, database: Database, redis_conn: redis.Redis) -> Flask:
    return create_app(
        console_overrides(settings, sse_heartbeat_s=1, sse_max_duration_s=30, sse_max_connections=2)
    )


def frames(body: Iterator[bytes]) -> Iterator[str]:
    buffer = ""
    for chunk in body:
        buffer += chunk.decode() if isinstance(chunk, bytes) else chunk
        while "\n\n" in buffer:
            frame, buffer = buffer.split("\n\n", 1)
            yield frame


def test_a_dispatch_reaches_the_handlers_stream(
    live_app: Flask,
    make_user: Callable[..., ConsoleUser],
    new_order: Callable[..., str],
) -> None:
    handler = make_user(Role.HANDLER)
    client = logged_in(live_app, handler)
    r = client.get(f"/console/live/{handler_channel(handler.handler_id or 0)}", buffered=False)
    assert r.mimetype == "text/event-stream" and r.headers["Cache-Control"] == "no-store"
    stream = frames(iter(r.response))
    assert next(stream) == "retry: 3000"
    number = new_order(handler.handler_code)  # registered, then dispatched to this handler
    seen = []
    for frame in stream:
        seen.append(frame)
        if number in frame:
            break
    r.close()
    event = next(f for f in seen if number in f)
    lines = dict(line.split(": ", 1) for line in event.splitlines())
    assert lines["event"] == "order" and lines["id"].isdigit()
    assert '"move": "dispatch"' in lines["data"] and '"state": "dispatched"' in lines["data"]


def test_a_reconnecting_browser_gets_what_it_missed(
    live_app: Flask, make_user: Callable[..., ConsoleUser], redis_conn: redis.Redis
) -> None:
    handler = make_user(Role.HANDLER)
    channel = handler_channel(handler.handler_id or 0)
    ids = [publish(redis_conn, channel, "order", {"n": i}) for i in range(3)]
    client = logged_in(live_app, handler)
    r = client.get(
        f"/console/live/{channel}", headers={"Last-Event-ID": str(ids[0])}, buffered=False
    )
    stream = frames(iter(r.response))
    assert next(stream) == "retry: 3000"
    replayed = [next(stream), next(stream)]
    r.close()
    assert [f.splitlines()[0] for f in replayed] == [f"id: {ids[1]}", f"id: {ids[2]}"]
    # Heartbeats keep an idle stream open (and notice a browser that left).
    r = client.get(f"/console/live/{channel}", buffered=False)
    stream = frames(iter(r.response))
    assert next(stream) == "retry: 3000"
    assert next(stream) == ": heartbeat"
    r.close()


def test_streams_per_process_are_limited(
    live_app: Flask, make_user: Callable[..., ConsoleUser]
) -> None:
    handler = make_user(Role.HANDLER)
    client = logged_in(live_app, handler)
    url = f"/console/live/{handler_channel(handler.handler_id or 0)}"
    open_ = [client.get(url, buffered=False) for _ in range(2)]
    refused = client.get(url)
    assert refused.status_code == 503 and refused.headers["Retry-After"]
    for r in open_:
        r.close()  # gives the slots back
    again = client.get(url, buffered=False)
    assert again.status_code == 200
    again.close()


def test_a_browser_that_missed_too_much_is_told_to_reload(
    live_app: Flask, make_user: Callable[..., ConsoleUser], redis_conn: redis.Redis
) -> None:
    handler = make_user(Role.HANDLER)
    channel = handler_channel(handler.handler_id or 0)
    last = publish(redis_conn, channel, "order", {"n": 0})
    client = logged_in(live_app, handler)
    # An id from before Redis lost the channel's counter (restart without persistence).
    r = client.get(f"/console/live/{channel}", headers={"Last-Event-ID": str(last + 1000)},
                   buffered=False)  # fmt: skip
    stream = frames(iter(r.response))
    assert next(stream) == "retry: 3000"
    assert next(stream).startswith("event: resync")
    after = publish(redis_conn, channel, "order", {"n": 1})
    frame = next(f for f in stream if f.startswith("id:"))
    r.close()
    assert frame.splitlines()[0] == f"id: {after}"  # new events flow again
