"""Story 2: a first-time caller asks, in English, what filing a civil case costs."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.stories.conftest import Hotline
from workorders.orders import WorkOrder


def test_a_question_answered_on_the_spot(hotline: Hotline) -> None:
    # An unknown foreign number: English (2), common questions (4), filing fees (1), end (2).
    report = hotline.call(from_number="+14155550123", keys="2,4,1,2")

    english = " ".join(text for lang, text in report.said if lang == "en-US")
    assert "fifty yuan per case" in english, report.transcript  # the fee answer was read
    assert report.ended_by == "hangup"
    assert all(lang == "en-US" for lang, _ in report.said[2:])  # after the language menu

    assert hotline.wait_for_outcome(report.call_sid) == "resolved_in_ivr"
    call = hotline.call_row(report.call_sid)
    assert call.status == "completed"
    assert call.language == "en-US"
    assert call.from_e164 == "+14155550123"
    with hotline.database.session() as session:
        opened = session.scalar(
            select(func.count()).select_from(WorkOrder).where(WorkOrder.call_id == call.id)
        )
    assert opened == 0  # answered on the spot: no work order
