"""TwiML validation as Twilio applies it: size limit, well-formedness and Twilio's XML schema."""

from __future__ import annotations

import copy
import functools
import re
import threading
from pathlib import Path

from lxml import etree

MAX_TWIML_BYTES = 64 * 1024
SCHEMA_PATH = Path(__file__).parent / "twiml_xsd" / "twiml_v20100401_twilioRealtimeCallSchema.xsd"

# The schema (twiml-generator, 2023) predates a few things Twilio accepts today. These are the
# only exceptions: each is checked for its exact shape here, then hidden from the schema.
# - <Connect><Stream url><Parameter/></Stream></Connect>: bidirectional Media Streams.
# - <Leave/>: ends a queue wait (e.g. the caller chose a callback); absent from the schema.
# - voice="Polly.<Name>-Neural|-Generative|-LongForm" and voice="Google.<lang>-<variant>": the
#   schema's voice pattern only knows the classic voices.
KNOWN_GAPS = (
    "<Connect><Stream> (bidirectional Media Streams)",
    "<Leave/> (ends a queue wait)",
    "Polly.*-Neural / -Generative / -LongForm voices",
    "Google.* voices",
)
_NEWER_VOICE = re.compile(
    r"Polly\.[A-Za-z]+-(Neural|Generative|LongForm)|Google\.[a-z]{2,3}-[A-Z]{2}-[A-Za-z0-9-]+"
)
_CONNECT_ATTRS = {"action", "method"}
_STREAM_ATTRS = {"url", "name", "track", "statusCallback", "statusCallbackMethod"}
_PARAMETER_ATTRS = {"name", "value"}

# Validators keep their error log on the object, so concurrent validation (the load generator
# runs many calls on threads) must not share one validator at the same time.
_schema_lock = threading.Lock()


@functools.cache
def _schema() -> etree.XMLSchema:
    # Parsed from a file path so the main schema's relative xs:include/xs:import resolve offline.
    return etree.XMLSchema(etree.parse(str(SCHEMA_PATH)))


def _parser() -> etree.XMLParser:
    # TwiML comes from the app under test: no entities, no network, no DTD tricks.
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def parse_twiml(data: str | bytes) -> etree._Element:
    """Parse a TwiML document safely; raises etree.XMLSyntaxError if it is not well-formed."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return etree.fromstring(raw, _parser())


def validate_twiml(xml_text: str | bytes) -> list[str]:
    """Return the problems Twilio would have with this TwiML document; empty means valid."""
    raw = xml_text.encode("utf-8") if isinstance(xml_text, str) else xml_text
    problems: list[str] = []
    if len(raw) > MAX_TWIML_BYTES:
        problems.append(f"TwiML is {len(raw)} bytes, over Twilio's 64 kB limit (error 11750)")
    if not raw.strip():
        return [*problems, "empty document: no <Response> (error 12100)"]
    try:
        root = parse_twiml(raw)
    except etree.XMLSyntaxError as exc:
        return [*problems, f"not well-formed XML (error 12100): {exc}"]
    if root.tag != "Response":
        return [*problems, f"root element is <{root.tag}>, not <Response> (error 12100)"]
    if root.getroottree().docinfo.doctype:
        return [*problems, "TwiML must not carry a DOCTYPE (entities are not expanded)"]
    checked = copy.deepcopy(root)
    problems.extend(_strip_known_gaps(checked))
    problems.extend(_check_stream_urls(root))
    with _schema_lock:
        schema = _schema()
        try:
            valid = schema.validate(checked)
        except etree.XMLSchemaValidateError as exc:
            return [*problems, f"schema validation could not run: {exc}"]
        if not valid:
            problems.extend(
                f"line {err.line}: {err.message} (error 12200)" for err in schema.error_log
            )
    return problems


def _strip_known_gaps(root: etree._Element) -> list[str]:
    problems: list[str] = []
    for child in list(root):
        if child.tag == "Leave":
            if len(child) or (child.text or "").strip() or child.attrib:
                problems.append(f"line {child.sourceline}: <Leave> takes no content or attributes")
            root.remove(child)
        elif child.tag == "Connect":
            problems.extend(_check_connect(child))
            root.remove(child)
    for say in root.iter("Say"):
        voice = say.get("voice")
        if voice is not None and _NEWER_VOICE.fullmatch(voice):
            del say.attrib["voice"]
    return problems


def _check_connect(connect: etree._Element) -> list[str]:
    where = f"line {connect.sourceline}"
    problems = _unknown_attrs(connect, _CONNECT_ATTRS)
    if (connect.text or "").strip():
        problems.append(f"{where}: <Connect> has text content")
    streams = [c for c in connect if isinstance(c.tag, str)]
    if len(streams) != 1 or streams[0].tag != "Stream":
        problems.append(
            f"{where}: <Connect> must hold exactly one <Stream> (the only noun allowed)"
        )
        return problems
    stream = streams[0]
    problems.extend(_unknown_attrs(stream, _STREAM_ATTRS))
    if not stream.get("url"):
        problems.append(f"line {stream.sourceline}: <Stream> needs a url")
    for param in stream:
        if not isinstance(param.tag, str):
            continue
        if param.tag != "Parameter":
            problems.append(f"line {param.sourceline}: <Stream> holds only <Parameter>")
        else:
            problems.extend(_unknown_attrs(param, _PARAMETER_ATTRS))
    return problems


_LOOPBACK_WS = ("ws://127.0.0.1:", "ws://localhost:", "ws://[::1]:")


def _check_stream_urls(root: etree._Element) -> list[str]:
    # Twilio only opens wss:// and drops query strings; values go in <Parameter> instead. The
    # one exception is the simulator's own loopback stream server (tests, demos): no TLS there.
    problems = []
    for stream in root.iter("Stream"):
        url = stream.get("url", "")
        if url and not url.startswith(("wss://", *_LOOPBACK_WS)):
            problems.append(f"line {stream.sourceline}: <Stream url> must be wss://, got {url!r}")
        if "?" in url:
            problems.append(
                f"line {stream.sourceline}: <Stream url> must have no query string; "
                "pass values with <Parameter>"
            )
    return problems


def _unknown_attrs(element: etree._Element, allowed: set[str]) -> list[str]:
    return [
        f"line {element.sourceline}: <{element.tag}> has unknown attribute {name!r}"
        for name in element.attrib
        if name not in allowed
    ]
