"""Playing a TwiML document verb by verb, as Twilio executes it for the caller."""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urljoin

from lxml import etree

from hotline.sim.callbacks import post_callback, recording_status_params
from hotline.sim.media import MediaError, MediaStream
from hotline.sim.recordings import recording_server, wav_duration_s

if TYPE_CHECKING:
    from hotline.sim.call import LiveCall
    from hotline.sim.switchboard import Waiter

_WAIT_VERBS = "Say, Play, Pause, Gather, Redirect, Leave, Hangup"
# A bridged conversation the agent side never ends is cut after this long (real seconds).
BRIDGE_LIMIT_S = 60.0


class CallEnded(Exception):
    """Stops the call; `ended_by` is one of report.ENDINGS."""

    def __init__(self, ended_by: str) -> None:
        super().__init__(ended_by)
        self.ended_by = ended_by


@dataclass
class Document:
    """A TwiML document and the public URL it came from (relative URLs resolve against it)."""

    url: str
    root: etree._Element

    def resolve(self, target: str | None) -> str:
        # An absent or empty action means "the current document's URL", as on Twilio.
        return urljoin(self.url, target.strip()) if target and target.strip() else self.url


def new_sid(prefix: str) -> str:
    """A Twilio-shaped SID: two-letter prefix and 32 hex digits."""
    return prefix + secrets.token_hex(16)


def speech_seconds(text: str) -> int:
    """Rough time a TTS voice takes: ~4 CJK characters or ~15 other characters a second."""
    return max(1, math.ceil(sum(0.25 if ord(ch) >= 0x2E80 else 1 / 15 for ch in text)))


def _verbs(parent: etree._Element) -> Iterator[etree._Element]:
    return (child for child in parent if isinstance(child.tag, str))  # skip comments


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def _text(element: etree._Element) -> str:
    return " ".join("".join(element.itertext()).split())


class VerbPlayer:
    """Walks documents for one call; a verb that makes a request returns the next document."""

    def __init__(self, call: LiveCall) -> None:
        self.call = call
        self.report = call.report
        self._handlers: dict[str, Callable[[etree._Element, Document], Document | None]] = {
            "Say": self._hear,
            "Play": self._hear,
            "Pause": self._hear,
            "Gather": self._gather,
            "Record": self._record,
            "Redirect": self._redirect,
            "Hangup": self._hangup,
            "Reject": self._reject,
            "Enqueue": self._enqueue,
            "Dial": self._dial,
            "Start": self._start,
            "Connect": self._connect,
            "Leave": self._leave,
            "Echo": self._echo,
        }

    def play(self, doc: Document) -> Document:
        """Run `doc` until a verb moves the call to a new document (returned) or it ends."""
        for verb in _verbs(doc.root):
            handler = self._handlers.get(verb.tag)
            if handler is None:
                self.report.line(f"  (<{verb.tag}> is not simulated; skipped)")
                continue
            nxt = handler(verb, doc)
            if nxt is not None:
                return nxt
        raise CallEnded("end-of-twiml")  # Twilio hangs up when the document runs out

    def _hear(self, verb: etree._Element, doc: Document | None = None) -> None:
        times = max(1, _int(verb.get("loop"), 1))  # loop="0" (forever) is heard once here
        repeat = f"  (x{times})" if times > 1 else ""
        if verb.tag == "Say":
            text, language = _text(verb), verb.get("language") or "en-US"
            self.report.said.append((language, text))
            self.report.line(f"  IVR [{language}]: {text}{repeat}")
            self.call.sim_s += speech_seconds(text) * times
        elif verb.tag == "Play":
            digits = verb.get("digits")
            what = f"DTMF {digits}" if digits else _text(verb)
            self.report.line(f"  IVR plays {what}{repeat}")
            self.call.sim_s += times
        elif verb.tag == "Pause":
            seconds = _int(verb.get("length"), 1)
            self.report.line(f"  (pause {seconds} s)")
            self.call.sim_s += seconds

    def _gather(
        self,
        verb: etree._Element,
        doc: Document,
        kind: str = "step",
        extra: dict[str, str] | None = None,
    ) -> Document | None:
        for prompt in _verbs(verb):
            self._hear(prompt)
        num_digits = _int(verb.get("numDigits"), 0) or None
        takes_dtmf = "dtmf" in (verb.get("input") or "dtmf").split()
        action, method = doc.resolve(verb.get("action")), verb.get("method", "POST")
        if self.call.keys.speaks_next():
            moved = self._speak()
            if moved is not None:
                return moved
            return self._no_answer(verb, kind, action, method, extra)
        digits = (
            self.call.keys.answer(num_digits=num_digits, finish_keys=verb.get("finishOnKey", "#"))
            if takes_dtmf
            else None
        )
        if digits:
            self.report.keyed.append(digits)
            self.report.line(f"  caller keys: {digits}")
            self.call.sim_s += len(digits)
            return self.call.fetch(
                kind, action, method=method, params=extra, dropped_on_redirect={"Digits": digits}
            )
        self.report.line("  caller says nothing" + ("" if takes_dtmf else " (speech-only Gather)"))
        return self._no_answer(verb, kind, action, method, extra)

    def _no_answer(
        self,
        verb: etree._Element,
        kind: str,
        action: str,
        method: str,
        extra: dict[str, str] | None,
    ) -> Document | None:
        self.call.sim_s += _int(verb.get("timeout"), 5)
        if (verb.get("actionOnEmptyResult") or "").lower() == "true":
            return self.call.fetch(
                kind, action, method=method, params=extra, dropped_on_redirect={"Digits": ""}
            )
        return None  # no input and no actionOnEmptyResult: Twilio falls through

    def _speak(self) -> Document | None:
        """The caller speaks the next utterance into the media stream; returns the document
        the app moved the call to (REST update), or None when the Gather times out instead."""
        call = self.call
        if not call.utterances:
            self.report.error("the keys script says 'say' but no --say audio is left")
            return None
        wav = call.utterances.pop(0)
        call.spoken += 1
        if call.media is None:
            self.report.line("  caller speaks, but no media stream is open: nobody hears it")
            return None
        try:
            seconds = call.media.say(wav)
        except MediaError as exc:
            self.report.line(f"  media stream broke: {exc}")
            call.media = None
            return None
        call.sim_s += seconds
        self.report.spoken.append(round(seconds, 2))
        self.report.line(f"  caller speaks {seconds:.1f} s into the media stream")
        if call.drop_media_after is not None and call.spoken == call.drop_media_after:
            self.report.line("  media stream drops (no stop message)")
            call.media.drop()
            call.media = None
        if call.rest is None:
            return None
        update = call.rest.wait_for_update(self.report.call_sid, call.answer_wait_s)
        if update is None:
            self.report.line(f"  no call update within {call.answer_wait_s:.0f} s")
            return None
        url = update.get("Url")
        if not url:
            self.report.line(f"  call updated without a URL: {update}")
            raise CallEnded("hangup" if update.get("Status") == "completed" else "error")
        self.report.line("  call updated by the app (REST): fetching its new TwiML")
        return call.fetch("step", url, method=update.get("Method", "POST"))

    def _record(self, verb: etree._Element, doc: Document) -> Document:
        call = self.call
        audio = call.default_recording()
        seconds = min(wav_duration_s(audio), _int(verb.get("maxLength"), 3600))
        duration = round(seconds)
        # The caller ends with "#" when that key can finish; otherwise silence ends it.
        digits = "#" if "#" in verb.get("finishOnKey", "1234567890*#") else ""
        call.sim_s += seconds + (0 if digits else _int(verb.get("timeout"), 5))
        sid = new_sid("RE")
        server = recording_server()
        url = server.add(
            account_sid=call.account_sid,
            auth_token=call.auth_token,
            recording_sid=sid,
            audio=audio,
        )
        self.report.recorded.append(sid)
        self.report.line(f"  caller records {duration} s ({sid})")
        params = {
            "RecordingUrl": url,
            "RecordingDuration": str(duration),
            "RecordingSid": sid,
            "Digits": digits,
        }
        recorded_at = time.time()
        try:
            return call.fetch(
                "step",
                doc.resolve(verb.get("action")),
                method=verb.get("method", "POST"),
                dropped_on_redirect=params,
            )
        finally:
            # The file is stored (fetchable) only after the action was answered; then
            # Twilio reports it, even if the action failed.
            server.mark_ready(sid)
            callback = verb.get("recordingStatusCallback")
            events = verb.get("recordingStatusCallbackEvent", "completed").replace(",", " ")
            if callback and "completed" in events.split():
                status = recording_status_params(
                    account_sid=call.account_sid,
                    call_sid=self.report.call_sid,
                    recording_sid=sid,
                    recording_url=url,
                    duration_s=duration,
                    started_at=recorded_at,
                )
                method = verb.get("recordingStatusCallbackMethod", "POST")
                self.report.line(f"  recording status callback: completed ({sid})")
                post_callback(
                    call.http,
                    self.report,
                    "recording-status",
                    doc.resolve(callback),
                    method,
                    status,
                )

    def _redirect(self, verb: etree._Element, doc: Document) -> Document:
        return self.call.fetch("step", doc.resolve(verb.text), method=verb.get("method", "POST"))

    def _hangup(self, verb: etree._Element, doc: Document) -> None:
        raise CallEnded("hangup")

    def _reject(self, verb: etree._Element, doc: Document) -> None:
        self.report.line(f"  call rejected ({verb.get('reason', 'rejected')})")
        raise CallEnded("hangup")

    def _enqueue(self, verb: etree._Element, doc: Document) -> Document | None:
        name = (verb.text or "").strip()
        self.report.enqueued.append(name)
        self.report.line(f'  queued in "{name}"')
        if self.call.switchboard is not None:
            return self._enqueue_shared(verb, doc, name)
        queue_sid, waited_from = new_sid("QU"), self.call.sim_s
        result = "hangup"
        if verb.get("waitUrl"):
            queue = {
                "QueueSid": queue_sid,
                "QueuePosition": "1",
                "QueueTime": "0",
                "AvgQueueTime": "0",
                "CurrentQueueSize": "1",
            }
            wait_doc = self.call.fetch(
                "wait",
                doc.resolve(verb.get("waitUrl")),
                method=verb.get("waitUrlMethod", "POST"),
                params=queue,
            )
            result = self._wait(wait_doc, queue) or "hangup"
        return self._after_queue(verb, doc, result, queue_sid, round(self.call.sim_s - waited_from))

    def _after_queue(
        self, verb: etree._Element, doc: Document, result: str, queue_sid: str, queue_time: int
    ) -> Document | None:
        """Twilio posts the Enqueue action with how the caller left; after a leave or a
        bridge the call goes on with its answer, after a hang-up nobody is left to hear it."""
        goes_on = result in ("leave", "bridged")
        self.report.line(
            {
                "leave": "  caller leaves the queue",
                "bridged": "  the bridged call is over",
            }.get(result, "  caller hangs up in the queue")
        )
        if verb.get("action"):
            params = {"QueueResult": result, "QueueSid": queue_sid, "QueueTime": str(queue_time)}
            nxt = self.call.fetch(
                "step",
                doc.resolve(verb.get("action")),
                method=verb.get("method", "POST"),
                params=params,
            )
            if goes_on:
                return nxt
        if goes_on:
            return None  # without an action Twilio goes on after <Enqueue>
        raise CallEnded("caller")  # after a hang-up the action's TwiML has no one to play to

    def _enqueue_shared(self, verb: etree._Element, doc: Document, name: str) -> Document | None:
        """Wait in a switchboard queue shared with other calls: the wait URL is requested
        again each time its TwiML ends (Twilio loops it), until an agent takes the caller,
        the caller leaves, or their patience (`queue_patience` wait documents) runs out."""
        call = self.call
        board = call.switchboard
        assert board is not None
        waiter = board.join(name, self.report.call_sid)
        waited_from, loops, result = call.sim_s, 0, ""
        while not result:
            if waiter.dequeued.is_set():
                result = "bridged"
                break
            position, size = board.position(waiter)
            params = {
                "QueueSid": waiter.queue_sid,
                "QueuePosition": str(position),
                "QueueTime": str(round(call.sim_s - waited_from)),
                "AvgQueueTime": str(board.average_wait_s(name)),
                "CurrentQueueSize": str(size),
            }
            chosen = None
            if verb.get("waitUrl") and position:
                wait_doc = call.fetch(
                    "wait",
                    doc.resolve(verb.get("waitUrl")),
                    method=verb.get("waitUrlMethod", "POST"),
                    params=params,
                )
                chosen = self._wait(wait_doc, params)
            loops += 1
            if chosen is None and loops >= call.queue_patience:
                chosen = "hangup"
            if chosen is not None:
                result = chosen if board.leave(waiter) else "bridged"
            elif waiter.dequeued.wait(call.queue_poll_s):
                result = "bridged"
        if result == "bridged":
            self._bridged(waiter)
        return self._after_queue(
            verb, doc, result, waiter.queue_sid, round(call.sim_s - waited_from)
        )

    def _bridged(self, waiter: Waiter) -> None:
        """Taken by an agent: hear the agent side's `<Queue url>` TwiML, then talk until
        the agent hangs up."""
        call = self.call
        waiter.queue_time_s = round(call.sim_s)
        if waiter.whisper_url:
            params = {
                "QueueSid": waiter.queue_sid,
                "QueueTime": str(waiter.queue_time_s),
                "DequeingCallSid": waiter.dequeuing_call_sid,
            }
            whisper = call.fetch(
                "whisper", waiter.whisper_url, method=waiter.whisper_method, params=params
            )
            for verb in _verbs(whisper.root):
                if verb.tag in ("Say", "Play", "Pause"):
                    self._hear(verb)
        self.report.line(f"  bridged to {waiter.dequeuing_call_sid}")
        waiter.connected.set()
        waiter.bridge_ended.wait(BRIDGE_LIMIT_S)
        call.sim_s += waiter.talk_s
        self.report.bridged_to.append(waiter.dequeuing_call_sid)

    def _wait(self, doc: Document, queue: dict[str, str]) -> str | None:
        """Play queue wait TwiML once: "leave", "hangup", or None when it ran out (Twilio
        requests the wait URL again)."""
        while True:
            nxt: Document | None = None
            for verb in _verbs(doc.root):
                if verb.tag in ("Say", "Play", "Pause"):
                    self._hear(verb)
                elif verb.tag == "Gather":
                    nxt = self._gather(verb, doc, kind="wait", extra=queue)
                elif verb.tag == "Redirect":
                    method = verb.get("method", "POST")
                    nxt = self.call.fetch(
                        "wait", doc.resolve(verb.text), method=method, params=queue
                    )
                elif verb.tag in ("Leave", "Hangup"):
                    return "leave" if verb.tag == "Leave" else "hangup"
                else:
                    self.report.error(f"<{verb.tag}> in queue wait TwiML: only {_WAIT_VERBS}")
                if nxt is not None:
                    break
            if nxt is None:
                return None
            doc = nxt

    def _dial(self, verb: etree._Element, doc: Document) -> Document | None:
        targets = [f"{noun.tag.lower()}:{_text(noun)}" for noun in _verbs(verb)]
        if (verb.text or "").strip():
            targets.insert(0, f"number:{verb.text.strip()}")
        self.report.dials.extend(targets)
        if self.call.dialer is not None:
            status, talk_s, child_sid = self.call.dialer(self.call, verb, doc)
        else:
            status, talk_s, child_sid = "no-answer", 0, ""
            self.call.sim_s += _int(verb.get("timeout"), 30)
        self.report.line(f"  dials {', '.join(targets) or '(nothing)'}: {status}")
        if not verb.get("action"):
            return None  # without an action Twilio goes on with the next verb
        params = {"DialCallStatus": status, "DialCallDuration": str(talk_s)}
        if child_sid:
            params["DialCallSid"] = child_sid
        return self.call.fetch(
            "step",
            doc.resolve(verb.get("action")),
            method=verb.get("method", "POST"),
            params=params,
        )

    def _start(self, verb: etree._Element, doc: Document) -> None:
        for stream in verb.iter("Stream"):
            url = stream.get("url", "")
            self.report.streams.append(url)
            self.report.line(f"  media stream started: {url}")
            if not self.call.utterances:
                continue  # a caller who will not speak: nothing to stream
            parameters = {p.get("name", ""): p.get("value", "") for p in stream.iter("Parameter")}
            if self.call.media is not None:
                self.call.media.stop()
            try:
                self.call.media = MediaStream(
                    url,
                    auth_token=self.call.auth_token,
                    account_sid=self.call.account_sid,
                    call_sid=self.report.call_sid,
                    parameters=parameters,
                    speed=self.call.media_speed,
                )
            except MediaError as exc:
                self.report.line(f"  {exc}")

    def _connect(self, verb: etree._Element, doc: Document) -> Document | None:
        for stream in verb.iter("Stream"):
            self.report.streams.append(stream.get("url", ""))
            self.report.line(f"  media stream connected: {stream.get('url')} (closed at once)")
        if not verb.get("action"):
            return None
        return self.call.fetch(
            "step", doc.resolve(verb.get("action")), method=verb.get("method", "POST")
        )

    def _leave(self, verb: etree._Element, doc: Document) -> None:
        self.report.line("  (<Leave> outside a queue: nothing to leave)")

    def _echo(self, verb: etree._Element, doc: Document) -> None:
        self.report.line("  IVR echoes the caller, who hangs up")
        raise CallEnded("caller")
