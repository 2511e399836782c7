"""ML Metadata (``ml-metadata``, in-process, SQLite file) on the benchmark's workload.

Entities map one to one: experiments and runs are contexts, executables are execution types,
executions are executions, artifacts are artifacts of one type per kind (the ``validation``
kind's attributes become typed properties so that MLMD can filter on them), input and output
edges are INPUT/OUTPUT events, a run's trigger is an INPUT event of a zero-length "trigger"
execution. Everything goes through the public ``put_*``/``get_*`` calls.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.measure import PeakRss, na, rate, timed
from benchmarks.workload import Workload, generate, phases

NO_TRACE = "no trace: MLMD has per-run contexts but no merged trace of an experiment"
NO_DIFF = "no lineage diff"


def _store(path: Path) -> Any:
    from ml_metadata.metadata_store import metadata_store
    from ml_metadata.proto import metadata_store_pb2

    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = str(path)
    config.sqlite.connection_mode = (
        metadata_store_pb2.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
    )
    return metadata_store.MetadataStore(config)


class Mlmd:
    def __init__(self, path: Path) -> None:
        from ml_metadata.proto import metadata_store_pb2 as pb

        self.pb = pb
        self.store = _store(path)
        self.ids: dict[str, int] = {}  # modeltrail id -> MLMD id
        self.types: dict[str, int] = {}
        self.exec_types: dict[str, int] = {}
        props = {
            "dataset": {"type": pb.STRING, "rows": pb.INT},
            "model": {"type": pb.STRING},
            "metrics": {"value": pb.DOUBLE, "reference": pb.STRING},
            "event": {"cause": pb.STRING},
            "validation": {
                "split": pb.STRING,
                "score": pb.DOUBLE,
                "checks": pb.INT,
                "tool": pb.STRING,
            },
        }
        for name, fields in props.items():
            t = pb.ArtifactType(name=name)
            for k, v in fields.items():
                t.properties[k] = v
            self.types[name] = self.store.put_artifact_type(t)
        self.ctx_types = {
            n: self.store.put_context_type(pb.ContextType(name=n)) for n in ("experiment", "run")
        }
        self.trigger_type = self.store.put_execution_type(pb.ExecutionType(name="trigger"))
        self.run_ctx: dict[str, int] = {}
        self.contexts: dict[str, Any] = {}
        self.protos: dict[str, Any] = {}
        self.exp_of_run: dict[str, str] = {}

    # ------------------------------------------------------------ writing

    def _artifact(self, body: dict[str, Any]) -> Any:
        pb = self.pb
        a = pb.Artifact(
            type_id=self.types[body["kind"]], uri=body.get("uri") or "", name=body["id"]
        )
        for k, v in body.get("attributes", {}).items():
            target = (
                a.properties
                if k
                in (
                    "type",
                    "rows",
                    "value",
                    "reference",
                    "cause",
                    "split",
                    "score",
                    "checks",
                    "tool",
                )
                else a.custom_properties
            )
            if isinstance(v, bool | dict | list):
                target[k].string_value = json.dumps(v)
            elif isinstance(v, int):
                target[k].int_value = v
            elif isinstance(v, float):
                target[k].double_value = v
            else:
                target[k].string_value = str(v)
        for k, v in body.get("annotations", {}).items():
            a.custom_properties["annotation." + k].string_value = v
        a.custom_properties["version"].string_value = body.get("version", "1")
        return a

    def _execution_type(self, name: str) -> int:
        if name not in self.exec_types:
            self.exec_types[name] = self.store.put_execution_type(self.pb.ExecutionType(name=name))
        return self.exec_types[name]

    def write(self, ops: list[dict[str, Any]]) -> None:
        """Store one run's operations (or the setup) with MLMD's own calls."""
        pb = self.pb
        pending: dict[str, dict[str, Any]] = {}
        for op in ops:
            body, entity = op["body"], op["entity"]
            if entity == "experiment":
                ctx = pb.Context(type_id=self.ctx_types["experiment"], name=body["id"])
                [cid] = self.store.put_contexts([ctx])
                ctx.id = cid
                self.contexts[body["id"]] = ctx
                self.ids[body["id"]] = cid
            elif entity == "executable":
                self._execution_type(body["name"])
                self.ids[body["id"]] = 0
            elif entity == "artifact":
                pending[body["id"]] = body
            elif entity == "run":
                ctx = pb.Context(type_id=self.ctx_types["run"], name=body["id"])
                [cid] = self.store.put_contexts([ctx])
                ctx.id = cid
                self.contexts[body["id"]] = ctx
                self.run_ctx[body["id"]] = cid
                self.exp_of_run[body["id"]] = body["experiment"]
                if body.get("event"):
                    trigger = pb.Execution(type_id=self.trigger_type, name="trigger-" + body["id"])
                    self._put_execution(trigger, [body["event"]], [], pending, body["id"])
            elif entity == "execution":
                e = pb.Execution(
                    type_id=self._execution_type(body["name"].split("-")[0] + ".py"),
                    name=body["id"],
                    last_known_state=pb.Execution.COMPLETE,
                )
                for k, v in body.get("configuration", {}).items():
                    e.custom_properties["config." + k].string_value = str(v)
                for k, v in body.get("annotations", {}).items():
                    e.custom_properties["annotation." + k].string_value = v
                self._put_execution(
                    e, body["inputArtifacts"], body["outputArtifacts"], pending, body["run"]
                )
        if pending:  # artifacts no execution wrote (the setup's shared datasets)
            bodies = list(pending.values())
            protos = [self._artifact(b) for b in bodies]
            for body, proto, aid in zip(
                bodies, protos, self.store.put_artifacts(protos), strict=True
            ):
                proto.id = aid
                self.ids[body["id"]] = aid
                self.protos[body["id"]] = proto

    def _put_execution(
        self,
        execution: Any,
        inputs: list[str],
        outputs: list[str],
        pending: dict[str, dict[str, Any]],
        run: str,
    ) -> None:
        pb = self.pb
        pairs = []
        order = []
        for kind, ids in ((pb.Event.INPUT, inputs), (pb.Event.OUTPUT, outputs)):
            for mid in ids:
                # a stored artifact is passed whole, as the pipeline holds it (TFX does the
                # same): an id alone would overwrite the stored properties
                artifact = self._artifact(pending.pop(mid)) if mid in pending else self.protos[mid]
                pairs.append((artifact, pb.Event(type=kind)))
                order.append(mid)
        contexts = [self.contexts[run], self.contexts[self.exp_of_run[run]]]
        _eid, artifact_ids, _ = self.store.put_execution(
            execution, pairs, contexts, reuse_context_if_already_exist=True
        )
        for (artifact, _), mid, aid in zip(pairs, order, artifact_ids, strict=True):
            self.ids[mid] = aid
            artifact.id = aid
            self.protos[mid] = artifact

    # ------------------------------------------------------------ reading

    def lineage(self, artifact: str, hops: int, direction: str) -> Any:
        pb = self.pb
        options = pb.LineageSubgraphQueryOptions(
            starting_artifacts=pb.LineageSubgraphQueryOptions.StartingNodes(
                filter_query=f"id = {self.ids[artifact]}"
            ),
            max_num_hops=hops,
            direction=getattr(pb.LineageSubgraphQueryOptions, direction),
        )
        return self.store.get_lineage_subgraph(options)

    def run_dag(self, run: str) -> Any:
        executions = self.store.get_executions_by_context(self.run_ctx[run])
        events = self.store.get_events_by_execution_ids([e.id for e in executions])
        artifacts = self.store.get_artifacts_by_id(list({ev.artifact_id for ev in events}))
        return executions, events, artifacts

    def list_page(self, page: int, token: str | None) -> tuple[list[Any], str]:
        """One page of validation artifacts with split = test, newest first.

        The Python client's ``get_artifacts`` follows every next-page token itself; one page
        is asked of the store's GetArtifacts call directly, as a paging client would.
        """
        from ml_metadata.proto import metadata_store_service_pb2 as svc

        pb = self.pb
        request = svc.GetArtifactsRequest()
        request.options.max_result_size = page
        request.options.order_by_field.field = pb.ListOperationOptions.OrderByField.CREATE_TIME
        request.options.order_by_field.is_asc = False
        request.options.filter_query = (
            "type = 'validation' AND properties.split.string_value = 'test'"
        )
        if token:
            request.options.next_page_token = token
        response = svc.GetArtifactsResponse()
        self.store._call("GetArtifacts", request, response)
        return list(response.artifacts), response.next_page_token


def run(w: Workload, path: Path) -> dict[str, Any]:
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    out: dict[str, Any] = {"notes": {}, "checks": {}}
    samples = w.scale.samples
    a, b, rest = phases(w)
    me = os.getpid()
    with PeakRss(me) as rss_ingest:
        m = Mlmd(path)
        m.write(w.setup)
        times = []
        start = time.perf_counter()
        for ops in a:
            t0 = time.perf_counter()
            m.write(ops)
            times.append(time.perf_counter() - t0)
        out["ingest_1"] = rate(sum(len(o) for o in a), time.perf_counter() - start, times)
        out["ingest_8"] = na("in-process library: no concurrent HTTP clients")
        for ops in [*b, *rest]:
            m.write(ops)
    out["rss_ingest"] = rss_ingest.mib
    out["notes"]["rss_ingest"] = out["notes"]["rss_query"] = (
        "the benchmark process (MLMD runs in it)"
    )
    out["notes"]["ingest_1"] = (
        "per-run messages (MLMD has one-run-at-a-time put_execution, no batch of runs)"
    )

    rng = random.Random(1)
    artifacts = [op["body"]["id"] for ops in w.runs for op in ops if op["entity"] == "artifact"]
    pb = m.pb
    counter = iter(range(10**9))
    with PeakRss(me) as rss_query:

        def create() -> None:
            a = pb.Artifact(type_id=m.types["dataset"], uri=f"s3://probe/{next(counter)}")
            a.properties["type"].string_value = "Blob"
            a.custom_properties["annotation.owner"].string_value = "bench"
            m.store.put_artifacts([a])

        out["create"] = timed(create, samples * 4)
        out["read"] = timed(
            lambda: m.store.get_artifacts_by_id([m.ids[rng.choice(artifacts)]]), samples * 4
        )
        out["notes"]["create"] = out["notes"]["read"] = (
            "in-process call (MLMD has no HTTP API; gRPC server not measured)"
        )
        page = w.scale.page_size
        first, token = m.list_page(page, None)
        out["list_first"] = timed(lambda: m.list_page(page, None), samples)
        listed = list(first)
        for _ in range(w.scale.deep_page - 1):
            if not token:
                break
            items, token = m.list_page(page, token)
            listed.extend(items)
        deep = token
        out["list_deep"] = (
            timed(lambda: m.list_page(page, deep), samples) if deep else na("too few pages")
        )
        out["notes"]["list_first"] = out["notes"]["list_deep"] = (
            "sorted by create time: MLMD cannot sort on a property"
        )
        out["checks"]["list"] = {"items": len(listed)}

        chain = w.chain
        # MLMD counts artifact->execution and execution->artifact as one hop each
        out["up_20"] = timed(lambda: m.lineage(chain[-1], 40, "UPSTREAM"), samples)
        g = m.lineage(chain[-1], 40, "UPSTREAM")
        out["checks"]["up_20"] = {"artifacts": len(g.artifacts)}
        g = m.lineage(chain[-1], 100, "UPSTREAM")
        out["up_100"] = timed(lambda: m.lineage(chain[-1], 100, "UPSTREAM"), samples)
        out["notes"]["up_100"] = (
            f"partial: max_num_hops is capped at 100 edges = 50 steps "
            f"({len(g.artifacts) - 1} of 100 reached)"
        )
        out["impact"] = timed(
            lambda: m.lineage(w.popular_dataset, 2 * w.scale.steps + 2, "DOWNSTREAM"),
            max(5, samples // 5),
        )
        g = m.lineage(w.popular_dataset, 2 * w.scale.steps + 2, "DOWNSTREAM")
        out["checks"]["impact"] = {"artifacts": len(g.artifacts) - 1}
        out["dag"] = timed(lambda: m.run_dag(w.dag_run), samples)
        out["checks"]["dag"] = {"executions": len(m.run_dag(w.dag_run)[0]) - 1}
        out["trace"] = na(NO_TRACE)
        out["diff"] = na(NO_DIFF)
    out["rss_query"] = rss_query.mib
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", default="small")
    parser.add_argument("--workdir", default="bench-work")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    w = generate(args.scale)
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        result = run(w, workdir / "mlmd.sqlite")
    except ImportError as exc:
        result = {"unavailable": f"ml-metadata is not installed: {exc}"}
    Path(args.out).write_text(json.dumps(result, default=str))


if __name__ == "__main__":
    sys.exit(main())
