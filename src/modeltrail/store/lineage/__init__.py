"""The graph readers: walks, the edges around a set of nodes, rows by ids, flags, reuse.

Every graph question (lineage, impact, DAG, diff, trace, ...) is answered from these few
readers, in the database: a walk is a recursive CTE that runs on SQLite and PostgreSQL.

- ``walks``: the artifacts reachable upstream or downstream of some artifacts;
- ``edges``: what a set of executions read, wrote and was followed by, and who wrote or
  read a set of artifacts;
- ``by_ids``: artifacts, executions and executables by id;
- ``runs``: runs with their executions;
- ``flags``: flags and what they taint; ``reuse``: executions that did the same work.

The readers work with ids as 32 hex digits (``Id``), taking and giving them in that form,
and give rows as the typed records of ``store.records`` (see there why). Lists of ids go to
the database as one parameter (``dialect.among``). The graph answers keep ids as text
(``domain.lineage.NodeId``).
"""

from modeltrail.store.lineage.by_ids import (
    artifacts_by_ids,
    artifacts_by_ids_with_any_flag,
    artifacts_by_keys,
    executables_by_ids,
    executions_with_executables,
    previous_artifact,
    runs_by_ids,
    runs_with_events,
)
from modeltrail.store.lineage.edges import (
    Edges,
    ExecutionEdges,
    IoEdges,
    edges_of_executions,
    execution_edges,
    executions_reached,
    next_step_counts,
    runs_of_artifacts,
)
from modeltrail.store.lineage.flags import flagged_reach, flags_for
from modeltrail.store.lineage.reuse import (
    execution_counts_by_executable,
    latest_success_with_fingerprint,
    reuse_groups,
    reused_counts_by_executable,
)
from modeltrail.store.lineage.rows import columns_among, hexes
from modeltrail.store.lineage.runs import (
    executions_of_runs,
    run_with_executions,
    runs_of_experiment,
    runs_of_pipeline,
)
from modeltrail.store.lineage.walks import (
    Direction,
    Key,
    Walk,
    walk_artifacts,
    walk_from_artifact,
    walk_with_artifacts,
    walks_from_each,
)

__all__ = [
    "Direction",
    "Edges",
    "ExecutionEdges",
    "IoEdges",
    "Key",
    "Walk",
    "artifacts_by_ids",
    "artifacts_by_ids_with_any_flag",
    "artifacts_by_keys",
    "columns_among",
    "edges_of_executions",
    "executables_by_ids",
    "execution_counts_by_executable",
    "execution_edges",
    "executions_of_runs",
    "executions_reached",
    "executions_with_executables",
    "flagged_reach",
    "flags_for",
    "hexes",
    "latest_success_with_fingerprint",
    "next_step_counts",
    "previous_artifact",
    "reuse_groups",
    "reused_counts_by_executable",
    "run_with_executions",
    "runs_by_ids",
    "runs_of_artifacts",
    "runs_of_experiment",
    "runs_of_pipeline",
    "runs_with_events",
    "walk_artifacts",
    "walk_from_artifact",
    "walk_with_artifacts",
    "walks_from_each",
]
