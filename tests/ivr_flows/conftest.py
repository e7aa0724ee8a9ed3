"""Fixtures for the flow-engine tests: a small flow using every node type, and flow-file writers."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from ivr_samples import BASE_FLOW, MINI_FLOW

from ivr_flows import Flow, parse_flow


@pytest.fixture(scope="session")
def mini() -> Flow:
    return parse_flow(MINI_FLOW, source="mini.yaml")


@pytest.fixture
def base_flow() -> dict[str, Any]:
    """A fresh, valid flow as plain data, for tests to break one thing in."""
    return copy.deepcopy(BASE_FLOW)


@pytest.fixture
def write_flow(tmp_path: Path) -> Callable[[dict[str, Any] | str], Path]:
    """Writes flow data (or raw YAML text) to a file under tmp_path and returns its path."""
    counter = iter(range(1_000_000))

    def write(content: dict[str, Any] | str) -> Path:
        path = tmp_path / f"flow{next(counter)}.yaml"
        text = content if isinstance(content, str) else yaml.safe_dump(content, allow_unicode=True)
        path.write_text(text, encoding="utf-8")
        return path

    return write
