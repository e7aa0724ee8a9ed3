"""Loading the IVR flows at startup, refusing to start with a broken one."""

from __future__ import annotations

from pathlib import Path

from hotline.config import ConfigError, Settings
from ivr_flows import Flow, check_flow_file, load_flow, shipped_flows_dir


def flow_files(settings: Settings) -> list[Path]:
    folder = Path(settings.flows_path) if settings.flows_path else shipped_flows_dir()
    return sorted(folder.glob("*.yaml"))


def load_checked_flows(settings: Settings) -> dict[str, Flow]:
    """Every flow of the configured folder, validated; any problem names file, node and cause."""
    problems: list[str] = []
    flows: dict[str, Flow] = {}
    for path in flow_files(settings):
        found = check_flow_file(path)
        if found:
            problems.extend(str(p) for p in found)
            continue
        flow = load_flow(path)
        flows[flow.id] = flow
    if not problems and settings.flow not in flows:
        problems.append(f"HOTLINE_FLOW={settings.flow!r} is not among the flows: {sorted(flows)}")
    if problems:
        raise ConfigError(problems)
    return flows
