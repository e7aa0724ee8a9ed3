"""TwiML rendering: every engine action becomes a document Twilio's schema accepts."""

from __future__ import annotations

from lxml import etree

from hotline.config import DEFAULT_VOICES
from hotline.sim.validate import validate_twiml
from hotline.voice.twiml import MAX_SAY_CHARS, Urls, render, render_hold, render_message
from ivr_flows import Enqueue, Gather, Hangup, Pause, Record, Say

URLS = Urls(
    step=lambda node: f"https://h.example/voice/step?node={node}&seq=3",
    recording_status="https://h.example/voice/recording",
    queue_wait="https://h.example/voice/queue-wait",
)


def rendered(*actions: object) -> etree._Element:
    xml = render(actions, voices=DEFAULT_VOICES, urls=URLS)  # type: ignore[arg-type]
    assert validate_twiml(xml) == []
    return etree.fromstring(xml.encode())


def test_say_uses_the_voice_configured_for_its_language() -> None:
    doc = rendered(Say("您好", "zh-CN"), Say("Hello", "en-US"), Pause(1), Hangup())
    says = doc.findall("Say")
    assert [(s.get("voice"), s.get("language")) for s in says] == [
        ("Polly.Zhiyu", "cmn-CN"),
        ("Polly.Joanna", "en-US"),
    ]
    assert doc.find("Pause").get("length") == "1"
    assert doc[-1].tag == "Hangup"


def test_gather_posts_every_answer_including_none() -> None:
    doc = rendered(
        Gather(
            node="main_menu",
            prompts=(Say("Press 1", "en-US"), Pause(1)),
            num_digits=1,
            timeout_s=5,
            finish_on_key="",
        )
    )
    gather = doc.find("Gather")
    assert gather.get("action") == "https://h.example/voice/step?node=main_menu&seq=3"
    assert (gather.get("input"), gather.get("numDigits"), gather.get("actionOnEmptyResult")) == (
        "dtmf",
        "1",
        "true",
    )
    assert [c.tag for c in gather] == ["Say", "Pause"]


def test_collect_gather_has_no_digit_count_and_a_finish_key() -> None:
    gather = rendered(
        Gather(node="year", prompts=(), num_digits=None, timeout_s=7, finish_on_key="#")
    ).find("Gather")
    assert gather.get("numDigits") is None and gather.get("finishOnKey") == "#"


def test_record_comes_back_to_its_node_even_when_nothing_was_said() -> None:
    doc = rendered(
        Say("After the tone", "en-US"),
        Record(node="statement", max_length_s=120, timeout_s=5, finish_on_key="#"),
    )
    record = doc.find("Record")
    assert record.get("recordingStatusCallback") == "https://h.example/voice/recording"
    assert record.get("maxLength") == "120"
    assert doc.find("Redirect").text == "https://h.example/voice/step?node=statement&seq=3"


def test_enqueue_reports_back_and_waits_on_our_wait_url() -> None:
    enqueue = rendered(Enqueue(node="operator", queue="general")).find("Enqueue")
    assert enqueue.text == "general"
    assert enqueue.get("waitUrl") == "https://h.example/voice/queue-wait"
    assert enqueue.get("action").endswith("node=operator&seq=3")


def test_long_text_is_cut_below_twilios_limit_and_messages_validate() -> None:
    doc = rendered(Say("字" * 5000, "zh-CN"))
    assert len(doc.find("Say").text) == MAX_SAY_CHARS
    assert validate_twiml(render_message("抱歉", "zh-CN", DEFAULT_VOICES)) == []
    assert validate_twiml(render_hold("Please hold", "en-US", DEFAULT_VOICES)) == []
