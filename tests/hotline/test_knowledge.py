"""The FAQ knowledge base: complete per language, searchable, checked against the flows."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline import create_app
from hotline.config import ConfigError
from hotline.knowledge import load_faq
from ivr_flows import shipped_flows_dir


def test_every_topic_answers_in_every_language() -> None:
    faq = load_faq()
    assert set(faq.entries) >= {
        "filing_fees",
        "service_centre",
        "filing_procedure",
        "query_password",
    }
    for topic in faq.entries:
        for language in faq.languages:
            assert faq.answer(topic, language)
    assert "五十元" in (faq.answer("filing_fees", "zh-CN") or "")
    assert " " not in (faq.answer("filing_fees", "zh-CN") or "")  # no folded-line spaces


@pytest.mark.parametrize(
    ("said", "language", "topic"),
    [
        ("请问诉讼费用要交多少钱", "zh-CN", "filing_fees"),
        ("诉讼服务 中心 在 哪里", "zh-CN", "service_centre"),  # Vosk puts spaces between words
        ("how much is the court fee", "en-US", "filing_fees"),
        ("I forgot my password", "en-US", "query_password"),
    ],
)
def test_search_by_keywords(said: str, language: str, topic: str) -> None:
    found = load_faq().search(said, language)
    assert found and found[0][0].topic == topic


def test_a_topic_missing_a_language_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "faq.yaml"
    bad.write_text(
        "languages: [zh-CN, en-US]\ntopics:\n  x:\n    title: {zh-CN: 标题}\n"
        "    keywords: {zh-CN: [a], en-US: [b]}\n    answer: {zh-CN: 答}\n"
    )
    with pytest.raises(ConfigError, match="topic 'x': title missing for en-US"):
        load_faq(bad)


def test_startup_names_a_flow_topic_the_knowledge_base_lacks(tmp_path: Path) -> None:
    faq = tmp_path / "faq.yaml"
    text = (Path(__file__).parents[2] / "hotline/knowledge/faq.yaml").read_text(encoding="utf-8")
    faq.write_text(text.replace("  query_password:", "  lost_password:"), encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown FAQ topic 'query_password'"):
        create_app(
            {
                "env": "test",
                "instance_path": tmp_path,
                "faq_path": str(faq),
                "flows_path": str(shipped_flows_dir()),
            }
        )
