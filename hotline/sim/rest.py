"""A stand-in for Twilio's REST API on loopback: records the texts and calls the app asks
for, checks Basic auth, and can be told to fail or stall, so jobs that talk to Twilio are
tested against a real HTTP server (point `HOTLINE_TWILIO_API_BASE_URL` at `.url`).

Calls to numbers given a script (`script`) or registered as agents (`agent`) are played out
as Twilio would: rung with the scripted outcome (answer, busy, no-answer, failed), and when
answered their `Url` TwiML is run like a person on the line (keys, `<Dial>`), with status
callbacks after. An agent's `<Dial><Queue>` takes the front caller of the shared
`switchboard`, so whole transfer and callback scenarios run end to end."""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from hotline.sim.outbound import Leg, OutboundCalls
from hotline.sim.switchboard import Switchboard

_PATH = re.compile(r"^/2010-04-01/Accounts/(AC[0-9a-zA-Z]+)/(Messages|Calls)\.json$")
_CALL = re.compile(r"^/2010-04-01/Accounts/(AC[0-9a-zA-Z]+)/Calls/(CA[0-9a-zA-Z]+)\.json$")


@dataclass
class RestSim:
    account_sid: str
    auth_token: str
    messages: list[dict[str, str]] = field(default_factory=list)
    calls: list[dict[str, str]] = field(default_factory=list)
    # (status, recipient or None for anyone): the next matching requests fail with them
    failures: list[tuple[int, str | None]] = field(default_factory=list)
    # calls(sid).update(url=…): what a live call was told to do next, per CallSid
    updates: list[dict[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None
    port: int = 0
    _updated: threading.Condition | None = None
    # (seconds, recipient or None): the next matching requests are answered this late
    stalls: list[tuple[float, str | None]] = field(default_factory=list)
    switchboard: Switchboard = field(default_factory=Switchboard)
    outbound: OutboundCalls | None = None

    def __post_init__(self) -> None:
        self.outbound = OutboundCalls(self.account_sid, self.auth_token, self.switchboard)

    def script(self, to: str, *legs: Leg | str) -> None:
        """How the next calls to `to` go: "answer", "busy", "no-answer", "failed", or a Leg
        (with the keys the callee presses)."""
        assert self.outbound is not None
        self.outbound.script(to, *legs)

    def agent(self, address: str, *, talk_s: int = 30, answers: bool = True) -> None:
        """A simulated agent at `address` (a number or `client:identity`): answers every call
        and, bridged to a caller, talks `talk_s` seconds, then hangs up."""
        assert self.outbound is not None
        self.outbound.agent(address, talk_s=talk_s, answers=answers)

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Until every outbound call being played has ended (status callbacks sent)."""
        assert self.outbound is not None
        self.outbound.wait_idle(timeout)

    def stall_next(self, seconds: float, *, to: str | None = None) -> None:
        """Answer the next request (to `to`, or anyone) only after `seconds`."""
        with self.lock:
            self.stalls.append((seconds, to))

    def wait_for_update(self, call_sid: str, timeout_s: float) -> dict[str, str] | None:
        """The next update of `call_sid` (consumed), waiting up to `timeout_s`."""
        assert self._updated is not None
        with self._updated:
            found = self._updated.wait_for(
                lambda: any(u["CallSid"] == call_sid and not u.get("_taken") for u in self.updates),
                timeout=timeout_s,
            )
            if not found:
                return None
            update = next(
                u for u in self.updates if u["CallSid"] == call_sid and not u.get("_taken")
            )
            update["_taken"] = "1"
            return update

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def fail_next(self, *statuses: int, to: str | None = None) -> None:
        """Answer the next request(s) to `to` (or anyone) with these error statuses."""
        with self.lock:
            self.failures.extend((status, to) for status in statuses)

    def start(self) -> RestSim:
        self._updated = threading.Condition(self.lock)
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), _handler(self))
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def _handler(sim: RestSim) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # quiet: tests read the records instead
            pass

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            match = _PATH.match(self.path)
            call = _CALL.match(self.path)
            expected = base64.b64encode(f"{sim.account_sid}:{sim.auth_token}".encode()).decode()
            if self.headers.get("Authorization") != f"Basic {expected}":
                self._answer(401, {"code": 20003, "message": "Authenticate", "status": 401})
                return
            if call and call[1] == sim.account_sid:
                self._update_call(call[2])
                return
            if not match or match[1] != sim.account_sid:
                self._answer(404, {"code": 20404, "message": "not found", "status": 404})
                return
            length = int(self.headers.get("Content-Length") or 0)
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            with sim.lock:
                stall = 0.0
                for i, (seconds, to) in enumerate(sim.stalls):
                    if to is None or to == form.get("To"):
                        stall = seconds
                        del sim.stalls[i]
                        break
            if stall:
                time.sleep(stall)  # the client should have given up long before
                return
            with sim.lock:
                status = 0
                for i, (code, to) in enumerate(sim.failures):
                    if to is None or to == form.get("To"):
                        status = code
                        del sim.failures[i]
                        break
            if status:
                self._answer(
                    status,
                    {
                        "code": 20500 if status >= 500 else 21211,
                        "message": "simulated failure",
                        "status": status,
                    },
                )
                return
            kind = match[2]
            sid = ("SM" if kind == "Messages" else "CA") + secrets.token_hex(16)
            record = dict(form, sid=sid)
            with sim.lock:
                (sim.messages if kind == "Messages" else sim.calls).append(record)
            if kind == "Calls" and sim.outbound is not None:
                sim.outbound.place(record)
            body = {
                "sid": sid,
                "account_sid": sim.account_sid,
                "to": form.get("To"),
                "from": form.get("From"),
                "body": form.get("Body"),
                "status": "queued",
            }
            self._answer(201, body)

        def _update_call(self, call_sid: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            with sim.lock:
                failure = next(
                    (i for i, (_, to) in enumerate(sim.failures) if to in (None, call_sid)), None
                )
                status = sim.failures.pop(failure)[0] if failure is not None else 0
            if status:
                self._answer(
                    status, {"code": 20500, "message": "simulated failure", "status": status}
                )
                return
            assert sim._updated is not None
            with sim._updated:
                sim.updates.append({"CallSid": call_sid, **form})
                sim._updated.notify_all()
            self._answer(
                200, {"sid": call_sid, "account_sid": sim.account_sid, "status": "in-progress"}
            )

    return Handler
