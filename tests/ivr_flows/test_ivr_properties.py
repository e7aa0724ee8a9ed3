"""Properties of the step function for arbitrary callers and applications."""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ivr_samples import MINI_FLOW

from ivr_flows import (
    Digits,
    Enqueue,
    Event,
    Flow,
    Gather,
    Hangup,
    InputNode,
    IntentNode,
    Outcome,
    Record,
    Recorded,
    RecordNode,
    Speech,
    Start,
    Step,
    TransferNode,
    advance,
    load_flow,
    parse_flow,
    shipped_flows_dir,
)

FLOWS = {
    "court_hotline": load_flow(shipped_flows_dir() / "court_hotline.yaml"),
    "mini": parse_flow(MINI_FLOW),
}

_PHRASES = ["English", "中文", "case", "operator", "人工", "yes", "不是", "2 0 2 3", "二零二三"]
_events: st.SearchStrategy[Event] = st.one_of(
    st.builds(Start),
    st.builds(
        Digits,
        st.one_of(
            st.sampled_from(["", "0", "1", "2", "3", "4", "5", "*9", "2023", "2023#", "abc"]),
            st.text(alphabet="0123456789*#", max_size=6),
        ),
    ),
    st.builds(
        Speech,
        st.one_of(st.sampled_from(_PHRASES), st.text(max_size=12)),
        st.floats(0, 1),
    ),
    st.builds(Recorded, st.sampled_from(["", "https://r/1.wav"]), st.integers(0, 300)),
    st.builds(
        Outcome,
        st.sampled_from(
            ["ok", "unavailable", "queued", "bridged", "hangup", "leave", "queue-full", "odd"]
        ),
        prompt=st.sampled_from([{}, {"en-US": "Done."}, {"zh-CN": "好的。"}]),
        data=st.sampled_from([{}, {"number": "WO-1", "days": [5]}, {"queue": "vip"}]),
    ),
)


def _check(flow: Flow, step: Step) -> None:
    json.dumps(step.context)
    assert step.context["app"] == {"call_sid": "CA1"}
    if step.next_node is None:
        assert step.actions[-1] == Hangup()
        return
    node = flow.nodes[step.next_node]
    last = step.actions[-1] if step.actions else None
    if isinstance(node, InputNode):
        assert isinstance(last, Gather)
        assert last.node == node.id
    elif isinstance(node, RecordNode):
        assert isinstance(last, Record)
        assert last.node == node.id
    elif isinstance(node, IntentNode | TransferNode):
        waiting = step.awaiting_outcome
        assert isinstance(last, Enqueue) or (waiting is not None and waiting.node == node.id)
    else:
        pytest.fail(f"a step cannot wait at {node}")


@pytest.mark.parametrize("flow_id", sorted(FLOWS))
@settings(max_examples=150, deadline=None)
@given(events=st.lists(_events, max_size=40))
def test_any_caller_gets_a_step_that_waits_or_ends(flow_id: str, events: list[Event]) -> None:
    flow = FLOWS[flow_id]
    step = advance(flow, None, Start(), {"app": {"call_sid": "CA1"}})
    _check(flow, step)
    for event in events:
        if step.next_node is None:
            step = advance(flow, None, Start(), step.context)
        else:
            before = copy.deepcopy(step.context)
            context = step.context
            step = advance(flow, step.next_node, event, context)
            assert context == before
        _check(flow, step)
