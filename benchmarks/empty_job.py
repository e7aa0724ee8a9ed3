"""The baseline job of the workorders benchmark: called like `route_work_order`, does nothing.

The workers import it by name (`benchmarks.empty_job.nothing`), so they need the project root on
their path: the benchmark starts them with PYTHONPATH set to it (the `hotline` console script
puts only its own folder on sys.path, and the editable install maps only the app's packages).
"""

from __future__ import annotations


def nothing(order_id: int) -> None:
    """Take an id and return: what is left is RQ's own cost (dequeue, fork, bookkeeping)."""
    del order_id
