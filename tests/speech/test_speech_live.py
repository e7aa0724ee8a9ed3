"""The live path end to end: a simulated caller speaks Korean (espeak-ng, through µ-law) over a
Media Streams websocket to the real stream process and model; the decision moves the call on
by a REST update to the simulator, and keys keep working at the same time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from hotline.config import Settings
from hotline.db import Database
from hotline.sim.report import CallReport
from tests.speech.conftest import heard, korean_caller, spoken_steps
from workorders.case_registry import CaseRecord, PartyRecord, upsert_case
from workorders.cases import PartyRole

Speak = Callable[..., CallReport]


def test_menu_choices_spoken_in_korean(speak: Speak, database: Database) -> None:
    report = speak("say,say,#", ["한국어", "상담원"])
    assert report.ok, report.transcript
    assert len(report.streams) == 1  # one stream for the whole call
    assert "/voice/step?node=language&seq=1&via=speech" in report.transcript
    text = heard(report)
    assert "상담원에게연결해드리겠습니다" in text, report.transcript  # the operator node
    steps = spoken_steps(database, report.call_sid)
    assert [(node, key) for node, _, key in steps] == [("language", "3"), ("main_menu", "0")]


def test_spoken_yes_and_no(speak: Speak, database: Database, settings: Settings) -> None:
    phone = korean_caller()
    with database.session() as session:
        upsert_case(
            session,
            CaseRecord(
                case_number="（2023）粤03民初3535号",
                cause="合同纠纷",
                stage="trial",
                status_text={"zh-CN": "一审审理中", "en-US": "first instance, on trial"},
                next_hearing_at=datetime.now(UTC) + timedelta(days=3),
                parties=[PartyRecord(name="김민수", role=PartyRole.PLAINTIFF, phones=[phone])],
            ),
            pepper=settings.secret_key,
        )
        session.commit()
    yes = speak("say,say,0,#", ["한국어", "네"], from_number=phone)
    assert yes.ok, yes.transcript
    assert "이사건의진행상황은1번" in heard(yes), (
        yes.transcript
    )  # case_menu: it was about that case
    no = speak("say,say,#", ["한국어", "아니요"], from_number=phone)
    assert no.ok, no.transcript
    assert [key for node, _, key in spoken_steps(database, no.call_sid)] == ["3", "2"]
    assert "사건조회는1번" in heard(no)  # not that case: the main menu


def test_spoken_digits_with_keys_between(
    speak: Speak, database: Database, settings: Settings
) -> None:
    with database.session() as session:
        upsert_case(
            session,
            CaseRecord(
                case_number="（2022）粤03民终353号",
                cause="劳动争议",
                stage="appeal",
                status_text={"zh-CN": "二审审理中", "en-US": "second instance"},
                query_password="353353",
                parties=[PartyRecord(name="박지훈", role=PartyRole.APPELLANT)],
            ),
            pepper=settings.secret_key,
        )
        session.commit()
    # Korean by voice, "case status" by key, the year by keys, the serial number by voice.
    report = speak("say,1,2022#,say,#", ["한국어", "삼, 오, 삼"])
    assert report.ok, report.transcript
    steps = spoken_steps(database, report.call_sid)
    assert steps[-1][0] == "case_serial" and steps[-1][2] == "353", steps
    assert "비밀번호" in heard(report)  # found the one case: asks its password


def test_unsure_answer_is_confirmed_first(speak: Speak, database: Database) -> None:
    # Not a menu phrase: the nearest one is a poor match, so the caller is asked to confirm;
    # pressing 2 ("no") asks the menu again, where 0 by key reaches the operator.
    report = speak("say,say,2,0,#", ["한국어", "자주 묻는 질문"])
    assert report.ok, report.transcript
    text = heard(report)
    assert "말씀하셨습니까" in text, report.transcript
    assert text.count("사건조회는1번") == 2  # the main menu, asked again after the "no"
    assert "상담원에게연결해드리겠습니다" in text


def test_dropped_stream_is_restarted_and_call_goes_on(speak: Speak, database: Database) -> None:
    report = speak("say,say,#", ["한국어", "상담원"], drop_media_after=1)
    assert report.ok, report.transcript
    assert len(report.streams) == 2, report.transcript  # started again at the next turn
    assert [key for _, _, key in spoken_steps(database, report.call_sid)] == ["3", "0"]
