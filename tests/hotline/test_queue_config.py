"""The queue configuration: the shipped file loads; a broken one names every problem."""

from __future__ import annotations

import pytest

from hotline.config import ConfigError, Settings
from hotline.queues.config import load_queue_config, parse_queue_config


def test_the_shipped_queues_load() -> None:
    config = load_queue_config(Settings.from_env(environ={}, overrides={"env": "test"}))
    assert config.names == {"civil", "criminal", "enforcement", "general"}
    assert config.queue_for_division("civil_appeal") == "civil"
    assert config.queue_for_division("enforcement") == "enforcement"
    assert config.queue_for_division(None) == config.default_queue == "general"
    assert str(config.calling_hours) == "09:00-20:00" and config.retry_backoff_s[0] == 120


def test_a_broken_configuration_names_every_problem() -> None:
    with pytest.raises(ConfigError) as failed:
        parse_queue_config(
            {
                "queues": {"Civil Queue": {}, "general": {"max_size": 0}},
                "default_queue": "nowhere",
                "service_hours": "18:00-09:00",
                "callbacks": {"bridge": "sideways", "retry_backoff_s": "soon"},
            },
            source="q.yaml",
        )
    text = str(failed.value)
    for expected in (
        "queue name 'Civil Queue'",
        "general.max_size",
        "default_queue 'nowhere'",
        "service_hours",
        "callbacks.bridge",
        "retry_backoff_s",
    ):
        assert expected in text, text
