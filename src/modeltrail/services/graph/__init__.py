"""The graph questions: lineage upstream, impact downstream and flags, a run's DAG, compare
and diff of two artifacts, an experiment's trace, the history of runs, step reuse and the
recipe that rebuilds an artifact. Each reads the graph through ``store.lineage``."""

from modeltrail.services.graph import (
    compare,
    dag,
    diff,
    history,
    impact,
    lineage,
    nearest,
    recipe,
    reuse,
    trace,
)

__all__ = [
    "compare",
    "dag",
    "diff",
    "history",
    "impact",
    "lineage",
    "nearest",
    "recipe",
    "reuse",
    "trace",
]
