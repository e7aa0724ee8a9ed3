"""Live KPIs: counters in Redis updated as rows commit, rebuilt from SQL, read per window.

`snapshot.snapshot` produces the figures; `listener.install_kpi_listener` keeps the
counters live; `rebuild.rebuild` recomputes them; `sources` says where inputs come from.
"""
