"""Outbound calls placed through the REST stand-in, played out as Twilio would: each scripted
callee answers (or is busy, does not answer, fails); an answered call runs its `Url` TwiML
like a person on the line, and a `<Dial>` reaches queues, agents and other scripted numbers."""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from lxml import etree

from hotline.sim.call import LiveCall
from hotline.sim.callbacks import post_callback, rfc2822
from hotline.sim.keys import KeyScript
from hotline.sim.report import CallReport
from hotline.sim.switchboard import Switchboard
from hotline.sim.transport import TwilioHttp
from hotline.sim.verbs import Document, new_sid

OUTCOMES = ("answer", "busy", "no-answer", "failed")
_STATUS = {"answer": "completed", "busy": "busy", "no-answer": "no-answer", "failed": "failed"}


@dataclass(frozen=True)
class Leg:
    """How one call to a number goes: its outcome and, when answered, the keys pressed."""

    outcome: str = "answer"
    keys: str = ""
    talk_s: int = 20

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {OUTCOMES}, not {self.outcome!r}")


@dataclass
class PlayedCall:
    """What happened to one outbound call (tests read these)."""

    sid: str
    to: str
    outcome: str
    report: CallReport | None = None


class OutboundCalls:
    def __init__(self, account_sid: str, auth_token: str, switchboard: Switchboard) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.switchboard = switchboard
        self.lock = threading.Lock()
        self.scripts: dict[str, list[Leg]] = {}
        self.agents: dict[str, Leg] = {}
        self.played: list[PlayedCall] = []
        self.dialled: list[tuple[str, str]] = []  # (address, DialCallStatus)
        self.talk: dict[str, int] = {}  # CallSid -> how long its callee talks once bridged
        self._threads: list[threading.Thread] = []

    def script(self, to: str, *legs: Leg | str) -> None:
        with self.lock:
            self.scripts.setdefault(to, []).extend(
                leg if isinstance(leg, Leg) else Leg(leg) for leg in legs
            )

    def agent(self, address: str, *, talk_s: int, answers: bool) -> None:
        with self.lock:
            self.agents[address] = Leg("answer" if answers else "no-answer", talk_s=talk_s)

    def next_leg(self, address: str) -> Leg | None:
        """The scripted leg for a call to `address`; None: not simulated (only recorded)."""
        with self.lock:
            legs = self.scripts.get(address)
            if legs:
                return legs.pop(0)
            if legs is not None:
                return Leg("no-answer")  # a script ran out: nobody picks up any more
            return self.agents.get(address)

    def place(self, form: Mapping[str, str]) -> None:
        """Play the call created by this REST request on its own thread (Twilio is async)."""
        leg = self.next_leg(form.get("To", ""))
        if leg is None or not form.get("Url"):
            return
        thread = threading.Thread(target=self._play, args=(dict(form), leg), daemon=True)
        with self.lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
        thread.start()

    def wait_idle(self, timeout: float) -> None:
        with self.lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout)

    # --- one call -----------------------------------------------------------------------

    def _play(self, form: dict[str, str], leg: Leg) -> None:
        url = form["Url"]
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
        session = requests.Session()
        record = PlayedCall(sid=form["sid"], to=form.get("To", ""), outcome=leg.outcome)
        try:
            call = LiveCall(
                base_url=origin,
                auth_token=self.auth_token,
                account_sid=self.account_sid,
                call_sid=form["sid"],
                from_number=form.get("From", ""),
                to_number=form.get("To", ""),
                keys=KeyScript(leg.keys),
                public_base_url=None,
                recording=None,
                max_requests=80,
                timeout_s=15.0,
                out=None,
                session=session,
                switchboard=self.switchboard,
                direction="outbound-api",
                dialer=self._dial,
            )
            with self.lock:
                self.talk[form["sid"]] = leg.talk_s
            record.report = call.report
            if leg.outcome == "answer":
                call.run(start_url=url)
            else:
                call.report.line(f"  outbound call to {form.get('To')}: {leg.outcome}")
            self._status_callbacks(call, form, leg)
        finally:
            session.close()
            with self.lock:
                self.played.append(record)

    def _status_callbacks(self, call: LiveCall, form: Mapping[str, str], leg: Leg) -> None:
        callback = form.get("StatusCallback")
        if not callback:
            return
        events = (form.get("StatusCallbackEvent") or "completed").replace(",", " ").split()
        final = _STATUS[leg.outcome]
        sequence: list[str] = []
        if leg.outcome == "answer":
            sequence = [s for s in ("initiated", "ringing", "answered") if s in events]
        sequence.append("completed")  # the final status is reported whatever was asked
        for number, event in enumerate(sequence):
            status = {"answered": "in-progress"}.get(event, event)
            if event == "completed":
                status = final
            params = {
                **call.base_params,
                "CallStatus": status,
                "SequenceNumber": str(number),
                "CallbackSource": "call-progress-events",
                "Timestamp": rfc2822(call.started_at),
            }
            if event == "completed":
                duration = round(call.sim_s) if leg.outcome == "answer" else 0
                params["CallDuration"] = str(duration)
                params["Duration"] = str(math.ceil(duration / 60))
            http: TwilioHttp = call.http
            post_callback(
                http,
                call.report,
                "status",
                callback,
                form.get("StatusCallbackMethod", "POST"),
                params,
            )

    def _dial(self, call: LiveCall, verb: etree._Element, doc: Document) -> tuple[str, int, str]:
        """A `<Dial>` made by an answered outbound call: the first noun that answers wins."""
        last = "no-answer"
        for noun in (n for n in verb if isinstance(n.tag, str)):
            target = " ".join("".join(noun.itertext()).split())
            if noun.tag == "Queue":
                whisper = doc.resolve(noun.get("url")) if noun.get("url") else ""
                waiter = self.switchboard.take_front(
                    target,
                    call.report.call_sid,
                    whisper_url=whisper,
                    method=noun.get("method", "POST"),
                )
                if waiter is None:
                    self._note(f"queue:{target}", "no-answer", call)
                    continue
                waiter.connected.wait(30)
                talk = self.talk.get(call.report.call_sid, 20)
                waiter.talk_s = talk
                call.sim_s += talk
                waiter.bridge_ended.set()  # the agent hangs up
                self._note(f"queue:{target}", "completed", call)
                return "completed", talk, waiter.call_sid
            address = f"client:{target}" if noun.tag == "Client" else target
            leg = self.next_leg(address)
            outcome = leg.outcome if leg is not None else "no-answer"
            status = _STATUS[outcome]
            self._note(address, status, call)
            if outcome == "answer" and leg is not None:
                call.sim_s += leg.talk_s
                return "completed", leg.talk_s, new_sid("CA")
            call.sim_s += 0 if outcome == "failed" else min(int(verb.get("timeout", 30)), 30)
            last = status
        return last, 0, ""

    def _note(self, address: str, status: str, call: LiveCall) -> None:
        call.report.line(f"  dialled {address}: {status}")
        with self.lock:
            self.dialled.append((address, status))
