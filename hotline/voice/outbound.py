"""The first request of a call the workers placed (`/voice/incoming?flow=survey&callback=7`):
which flow answers it and what the flow starts knowing (the callback, the language); and the
queue hooks the generic voice turn calls (the clock, live updates)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy.orm import Session

from hotline.queues.presence import publish
from hotline.queues.runtime import QueueRuntime
from hotline.voice import params
from workorders.callbacks import Callback
from workorders.calls import Call
from workorders.queueing import QueueEntry


@dataclass(frozen=True)
class StartContext:
    flow: str
    callback_id: int | None

    def apply(self, session: Session, call: Call) -> None:
        """Set the new call's flow and first context before the engine runs."""
        context: dict[str, object] = {"vars": {}}
        if self.callback_id is not None:
            callback = session.get(Callback, self.callback_id)
            if callback is not None:
                context = {"vars": {"callback_id": callback.id}, "language": callback.language}
        call.flow = self.flow
        call.flow_context = context
        call.language = str(context.get("language") or call.language or "") or None


def start_context(args: Mapping[str, str]) -> StartContext | None:
    flow = params.node_id(args.get("flow"))
    if flow is None or flow not in current_app.extensions["hotline.flows"]:
        return None
    raw = params.to_int(args.get("callback"))
    return StartContext(flow=flow, callback_id=raw)


def queue_left(entry: QueueEntry) -> None:
    runtime: QueueRuntime = current_app.extensions["hotline.queues"]
    publish(runtime.redis, "queue", queue=entry.queue, call_sid=entry.call_sid, change="out")


def queue_now() -> datetime:
    runtime: QueueRuntime = current_app.extensions["hotline.queues"]
    return runtime.now()
