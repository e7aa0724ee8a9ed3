"""Reading flow YAML into plain data and checking it field by field, collecting every problem."""

from __future__ import annotations

import re
from collections.abc import Hashable, Mapping
from types import MappingProxyType
from typing import Any

import yaml
from yaml.nodes import MappingNode, ScalarNode

from .model import Prompt
from .problems import Problem

_BOOL_TAG = "tag:yaml.org,2002:bool"


class _FlowYamlLoader(yaml.SafeLoader):
    """A SafeLoader that reads yes/no/on/off as text and notes duplicate keys.

    YAML 1.1 (PyYAML) turns `yes:`/`no:` into True/False, which would break a confirm
    node's `yes:`/`no:` fields and spoken words such as "no"; and a duplicated node id
    would otherwise silently replace the first node.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicates: list[tuple[int, str]] = []

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: set[str] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, ScalarNode) and key_node.value != "<<":
                if key_node.value in seen:
                    self.duplicates.append((key_node.start_mark.line + 1, key_node.value))
                seen.add(key_node.value)
        return super().construct_mapping(node, deep=deep)


_FlowYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != _BOOL_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_FlowYamlLoader.add_implicit_resolver(
    _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def parse_yaml(text: str, file: str) -> tuple[Any, list[Problem]]:
    """The document's data and any parse problems (data is None when it cannot be read)."""
    loader = _FlowYamlLoader(text)
    try:
        data = loader.get_single_data()
    except yaml.YAMLError as exc:
        return None, [Problem(file, None, f"not valid YAML: {exc}")]
    finally:
        loader.dispose()
    problems = [
        Problem(file, None, f"line {line}: duplicate key {key!r} (the later one would win)")
        for line, key in loader.duplicates
    ]
    return data, problems


def kind_of(value: object) -> str:
    """A YAML author's name for the type of `value`, for messages."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def is_plain(value: object) -> bool:
    """True for data that survives JSON: mappings with text keys, lists and scalars."""
    if value is None or isinstance(value, str | int | float | bool):
        return True
    if isinstance(value, list):
        return all(is_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and is_plain(v) for k, v in value.items())
    return False


class Fields:
    """One YAML mapping, read field by field; problems are recorded instead of raised."""

    def __init__(
        self,
        data: Mapping[Any, Any],
        *,
        file: str,
        node: str | None,
        problems: list[Problem],
        where: str = "",
    ) -> None:
        self.data = data
        self.file = file
        self.node = node
        self.problems = problems
        self.where = where  # prefix for nested mappings, e.g. "choice '1': "
        self._read: set[str] = set()

    def nested(self, data: Mapping[Any, Any], where: str) -> Fields:
        """Fields of a mapping inside this one, reported against the same node."""
        return Fields(
            data, file=self.file, node=self.node, problems=self.problems, where=self.where + where
        )

    def problem(self, message: str) -> None:
        self.problems.append(Problem(self.file, self.node, self.where + message))

    def has(self, key: str) -> bool:
        return key in self.data

    def raw(self, key: str) -> Any:
        self._read.add(key)
        return self.data.get(key)

    def _typed(self, key: str, expected: type, wanted: str) -> Any:
        value = self.raw(key)
        if value is None:
            return None
        # bool is an int subclass, but `timeout: true` is a mistake, not a 1.
        if isinstance(value, expected) and (expected is bool or not isinstance(value, bool)):
            return value
        self.problem(f"field {key!r} must be {wanted}, not {kind_of(value)}")
        return None

    def required_text(self, key: str) -> str:
        if not self.has(key) or self.data[key] is None:
            self._read.add(key)
            self.problem(f"missing required field {key!r}")
            return ""
        value = self._typed(key, str, "text")
        return value if value is not None else ""

    def optional_text(self, key: str) -> str | None:
        value = self._typed(key, str, "text")
        return value if isinstance(value, str) else None

    def text(self, key: str, default: str) -> str:
        value = self.optional_text(key)
        return default if value is None else value

    def required_integer(self, key: str) -> int:
        if not self.has(key) or self.data[key] is None:
            self._read.add(key)
            self.problem(f"missing required field {key!r}")
            return 0
        return self.integer(key, 0)

    def integer(self, key: str, default: int) -> int:
        value = self._typed(key, int, "a whole number")
        return default if value is None else int(value)

    def flag(self, key: str, default: bool) -> bool:
        value = self._typed(key, bool, "true or false")
        return default if value is None else bool(value)

    def mapping(self, key: str, *, required: bool = False) -> Mapping[Any, Any] | None:
        if required and (not self.has(key) or self.data[key] is None):
            self._read.add(key)
            self.problem(f"missing required field {key!r}")
            return None
        value = self._typed(key, dict, "a mapping")
        return value if isinstance(value, dict) else None

    def text_list(self, key: str) -> tuple[str, ...] | None:
        value = self.raw(key)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.problem(f"field {key!r} must be a list of text, not {kind_of(value)}")
            return None
        return tuple(value)

    def prompt(self, key: str, *, required: bool) -> Prompt | None:
        value = self.mapping(key, required=required)
        if value is None:
            return {} if required else None
        return self.text_map(value, f"field {key!r}")

    def routes(self, key: str) -> Mapping[str, str]:
        """A mapping of names to node ids (e.g. `outcomes`)."""
        value = self.mapping(key)
        return self.text_map(value, f"field {key!r}") if value is not None else MappingProxyType({})

    def text_map(self, value: Mapping[Any, Any], label: str) -> Mapping[str, str]:
        good: dict[str, str] = {}
        for k, v in value.items():
            if not isinstance(k, str):
                self.problem(f"{label}: key {k!r} must be text, not {kind_of(k)}")
            elif not isinstance(v, str):
                self.problem(f"{label}: {k!r} must be text, not {kind_of(v)}")
            else:
                good[k] = v
        return MappingProxyType(good)

    def finish(self) -> None:
        """Reports fields nobody read: almost always a misspelt field name."""
        for key in self.data:
            if key not in self._read:
                self.problem(f"unknown field {key!r}")
