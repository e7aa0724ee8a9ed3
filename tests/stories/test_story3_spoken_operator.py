"""Story 3, its speech part: a caller says the menu choice "operator" in the language of the
installed model (Korean in tests); the live speech path understands it and the call reaches
the operator (transfer) node. Queue positions, the callback and the bridge are the agents'."""

from __future__ import annotations

from sqlalchemy import select

from tests.stories.conftest import Hotline
from workorders.calls import CallEvent

CALLER = "+821055503333"


def test_caller_speaks_operator(speaking_hotline: Hotline) -> None:
    report = speaking_hotline.call(from_number=CALLER, keys="say,say,#", say=["한국어", "상담원"])
    said = "".join(text for _, text in report.said).replace(" ", "")
    assert "상담원에게연결해드리겠습니다" in said, report.transcript  # the operator node's prompt
    call = speaking_hotline.call_row(report.call_sid)
    with speaking_hotline.database.session() as session:
        spoken = [
            (e.node, e.params["SpeechKey"])
            for e in session.execute(
                select(CallEvent).where(CallEvent.call_id == call.id)
            ).scalars()
            if "SpeechKey" in e.params
        ]
    assert spoken == [("language", "3"), ("main_menu", "0")]
    assert call.language == "ko-KR"
