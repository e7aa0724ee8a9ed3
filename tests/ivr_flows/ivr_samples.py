"""Sample flows for the flow-engine tests: one using every node type, one small valid base."""

from __future__ import annotations

from typing import Any

MINI_FLOW = """
flow: mini
languages: [en-US, zh-CN]
default_language: en-US
start: hello
recovery: menu
operator: agent
prompts:
  no_input: {en-US: "No input.", zh-CN: "没有输入。"}
  invalid: {en-US: "Invalid.", zh-CN: "无效。"}
  unavailable: {en-US: "Unavailable.", zh-CN: "暂不可用。"}
nodes:
  hello: {type: say, prompt: {en-US: "Hello.", zh-CN: "你好。"}, next: menu}
  menu:
    type: menu
    prompt: {en-US: "Menu.", zh-CN: "菜单。"}
    timeout: 7
    attempts: 2
    choices:
      "1": {next: year, speech: {en-US: [case], zh-CN: [案件]}}
      "2": {next: sure, set: {language: zh-CN}, speech: {en-US: [Chinese], zh-CN: [中文]}}
      "3": {next: statement}
      "4": {next: lookup}
      "5": {next: ring}
      "*9": {next: done}
  year:
    type: collect
    prompt: {en-US: "Year?", zh-CN: "年份？"}
    min_length: 4
    max_length: 4
    store_as: year
    next: sure
  sure:
    type: confirm
    prompt: {en-US: "Sure?", zh-CN: "确定吗？"}
    yes: done
    no: menu
    default: done
    speech: {en-US: {yes: [affirmative]}}
  statement:
    type: record
    prompt: {en-US: "Speak.", zh-CN: "请讲。"}
    max_length: 60
    timeout: 3
    store_as: statement
    next: lookup
    empty: menu
  lookup:
    type: intent
    intent: look_up
    params: {kind: case}
    prompt: {en-US: "One moment.", zh-CN: "请稍候。"}
    outcomes: {ok: fyi, unavailable: menu}
    store_as: result
  fyi: {type: say, resolves: true, prompt: {en-US: "Here it is.", zh-CN: "结果如下。"}, next: done}
  ring: {type: callback, outcomes: {ok: done}, next: menu}
  agent:
    type: transfer
    queue: general
    prompt: {en-US: "Connecting.", zh-CN: "正在转接。"}
    outcomes: {unavailable: ring}
  done: {type: hangup, prompt: {en-US: "Bye.", zh-CN: "再见。"}}
"""

BASE_FLOW: dict[str, Any] = {
    "flow": "base",
    "languages": ["zh-CN", "en-US"],
    "default_language": "zh-CN",
    "start": "hello",
    "recovery": "menu",
    "operator": "agent",
    "prompts": {
        name: {"zh-CN": "请再试一次。", "en-US": "Please try again."}
        for name in ("no_input", "invalid", "unavailable")
    },
    "nodes": {
        "hello": {"type": "say", "prompt": {"zh-CN": "你好。", "en-US": "Hello."}, "next": "menu"},
        "menu": {
            "type": "menu",
            "prompt": {"zh-CN": "请选择。", "en-US": "Choose."},
            "choices": {
                "1": {"next": "sure", "speech": {"zh-CN": ["是"], "en-US": ["one"]}},
                "2": {"next": "agent", "set": {"language": "en-US"}},
            },
        },
        "sure": {
            "type": "confirm",
            "prompt": {"zh-CN": "确定吗？", "en-US": "Sure?"},
            "yes": "done",
            "no": "menu",
        },
        "agent": {"type": "transfer", "queue": "general", "outcomes": {"unavailable": "done"}},
        "done": {"type": "hangup"},
    },
}
