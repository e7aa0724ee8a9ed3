"""Story 1, its speech parts, in the test language (the model CI installs is Korean): Mr. Fan
confirms his case by saying "yes" instead of keying 1, and the statement he leaves on his
second call is transcribed by the speech worker and attached to the work order it opened."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from hotline.speech.records import Recording, RecordingStatus, Transcript
from tests.helpers import wait_for
from tests.speech_audio import korean_wav
from tests.stories.conftest import Hotline
from workorders.case_registry import CaseRecord, PartyRecord, upsert_case
from workorders.cases import PartyRole
from workorders.orders import WorkOrder

FAN = "+8613912340007"
CASE = "（2022）粤03民终7007号"
PASSWORD = "700700"


def test_mr_fan_says_yes_and_his_statement_is_transcribed(speaking_hotline: Hotline) -> None:
    hotline = speaking_hotline
    with hotline.database.session() as session:
        upsert_case(
            session,
            CaseRecord(
                case_number=CASE,
                cause="医疗损害责任纠纷",
                stage="mediation",
                status_text={"zh-CN": "二审调解阶段", "en-US": "second instance, mediation"},
                next_hearing_at=datetime.now(UTC) + timedelta(days=9),
                query_password=PASSWORD,
                parties=[PartyRecord(name="范某", role=PartyRole.APPELLANT, phones=[FAN])],
            ),
            pepper=hotline.settings.secret_key,
        )
        session.commit()

    # 1. "Is it about that case?" — he says yes; its progress; password; end.
    first = hotline.call(from_number=FAN, keys=f"say,say,1,{PASSWORD}#,2", say=["한국어", "네"])
    said = " ".join(text for _, text in first.said)
    assert "is at this stage: mediation" in said, first.transcript  # the status read back
    assert hotline.wait_for_outcome(first.call_sid) == "resolved_in_ivr"

    # 2. He calls again and reports a problem about the case: a statement, then an order.
    second = hotline.call(
        from_number=FAN,
        keys="say,say,2,2",
        say=["한국어", "네"],
        recording=korean_wav("사건 처리가 너무 늦어서 치료비 보상이 필요합니다"),
    )
    (sid,) = second.recorded

    def transcribed() -> Recording | None:
        with hotline.database.session() as session:
            rec = session.execute(
                select(Recording).where(Recording.recording_sid == sid)
            ).scalar_one_or_none()
            return rec if rec is not None and rec.status == RecordingStatus.TRANSCRIBED else None

    recording = wait_for(transcribed, timeout=90)
    with hotline.database.session() as session:
        order = session.get(WorkOrder, recording.work_order_id)
        transcript = session.execute(
            select(Transcript).where(Transcript.recording_id == recording.id)
        ).scalar_one()
        assert order is not None and order.case_number == CASE and order.contact_phone == FAN
        assert order.transcript == transcript.text and transcript.text
        assert transcript.words and all("conf" in w for w in transcript.words)
