"""One writer process of the concurrency and crash tests: a client of a real server over HTTP.

Run as ``python http_writer.py CONFIG_JSON``. It imports nothing of modeltrail (only httpx and
the standard library), so that a dozen of them start fast and stay light beside the server.

Every write carries ids the writer chose, so sending it again after a lost answer (the
server killed, a timeout) is the same write: the server stores it once. The writer keeps a
journal, one JSON line per event, flushed as it goes:

- ``{"attempt": N, "op": ..., "entities": {id: [table, name]}, "edges": [[table, a, b]]}``
  before write N is first sent: everything it may store;
- ``{"ack": N, "status": S, "t": TIME}`` once the server answered it with 2xx;
- ``{"refused": N, "status": S, "body": ...}`` when the server answered anything else than
  2xx or 503 (the test fails on any).

The test then compares what the database holds with the journals.
"""

from __future__ import annotations

import json
import random
import sys
import time
import uuid
from typing import Any

import httpx

API = "/api/v1"
RETRY_FOR = 120.0  # seconds one write is retried while the server is away


class Journal:
    def __init__(self, path: str) -> None:
        self.file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - open for the whole run
        self.count = 0

    def write(self, record: dict[str, Any]) -> None:
        self.file.write(json.dumps(record) + "\n")
        self.file.flush()

    def close(self) -> None:
        self.file.close()


class Writer:
    def __init__(self, url: str, journal: Journal) -> None:
        self.http = httpx.Client(base_url=url, timeout=30)
        self.journal = journal

    def send(
        self,
        method: str,
        path: str,
        body: Any,
        *,
        op: str,
        entities: dict[str, list[str]] | None = None,
        edges: list[list[str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response | None:
        """Send one write until it is answered; journal it. None if it was refused."""
        self.journal.count += 1
        n = self.journal.count
        self.journal.write(
            {"attempt": n, "op": op, "entities": entities or {}, "edges": edges or []}
        )
        deadline = time.monotonic() + RETRY_FOR
        delay = 0.05
        while True:
            try:
                response = self.http.request(method, path, json=body, headers=headers)
            except httpx.TransportError:
                response = None
            if response is not None and response.status_code != 503:
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"write {n} ({op}) was never answered")
            time.sleep(delay)
            delay = min(delay * 2, 1.0)
        if response.is_success:
            self.journal.write({"ack": n, "status": response.status_code, "t": time.time()})
            return response
        self.journal.write({"refused": n, "status": response.status_code, "body": response.text})
        return None


def _id() -> str:
    return str(uuid.uuid4())


def _create(entity: str, entity_id: str, body: dict[str, Any]) -> dict[str, Any]:
    return {"op": "create", "entity": entity, "id": entity_id, "body": body}


class CrashWriter:
    """Creates, edges and batches in a random mix. Datasets are only ever read and models only
    ever written, and successors point from older steps to newer ones: lineage stays acyclic."""

    def __init__(self, cfg: dict[str, Any]) -> None:
        self.rng = random.Random(cfg["seed"] * 1000 + cfg["worker"])
        self.w = cfg["worker"]
        self.experiment, self.executable = cfg["experiment"], cfg["executable"]
        self.writer = Writer(cfg["url"], Journal(cfg["journal"]))
        self.datasets: list[str] = []
        self.runs: list[str] = []
        self.executions: list[str] = []

    def artifact(self, i: int, kind: str) -> str | None:
        aid, name = _id(), f"w{self.w}-{kind}-{i}"
        body = {"id": aid, "name": name, "kind": kind, "uri": f"s3://w{self.w}/{kind}/{i}"}
        entities = {aid: ["artifacts", name]}
        ok = self.writer.send("POST", f"{API}/artifacts", body, op="artifact", entities=entities)
        return aid if ok else None

    def run(self, i: int) -> None:
        rid, name = _id(), f"w{self.w}-r{i}"
        body = {"id": rid, "experiment": self.experiment, "name": name}
        if self.writer.send("POST", f"{API}/runs", body, op="run", entities={rid: ["runs", name]}):
            self.runs.append(rid)

    def execution(self, i: int) -> None:
        eid, name = _id(), f"w{self.w}-e{i}"
        inputs = self.rng.sample(self.datasets, min(len(self.datasets), self.rng.randint(1, 3)))
        body = {
            "id": eid,
            "run": self.rng.choice(self.runs),
            "executable": self.executable,
            "name": name,
            "kind": "train",
            "inputArtifacts": inputs,
        }
        edges = [["execution_inputs", eid, a] for a in inputs]
        entities = {eid: ["executions", name]}
        if self.writer.send(
            "POST", f"{API}/executions", body, op="execution", entities=entities, edges=edges
        ):
            self.executions.append(eid)

    def edge(self, i: int) -> None:
        """An edge added to a stored step: a new model as its output, or a newer successor."""
        eid = self.rng.choice(self.executions)
        if self.rng.random() < 0.5:
            model = self.artifact(i, "model")
            if model:
                body = {"artifacts": [model]}
                edges = [["execution_outputs", eid, model]]
                path = f"{API}/executions/{eid}/outputs"
                self.writer.send("POST", path, body, op="outputs", edges=edges)
            return
        later = self.executions[self.executions.index(eid) + 1 :]
        if later:
            succ = self.rng.choice(later)
            body = {"executions": [succ]}
            edges = [["execution_successors", eid, succ]]
            path = f"{API}/executions/{eid}/successors"
            self.writer.send("POST", path, body, op="successors", edges=edges)

    def batch(self, i: int) -> None:
        """A whole step in one batch: its run, data, model and execution, each created in its
        final state (as the SDK sends them, so that the batch can be sent again), and a link
        making it the successor of an older step."""
        w, rid, eid, mid = self.w, _id(), _id(), _id()
        data = [_id() for _ in range(self.rng.randint(1, 4))]
        names = {rid: ["runs", f"w{w}-br{i}"], eid: ["executions", f"w{w}-be{i}"]}
        names[mid] = ["artifacts", f"w{w}-bm{i}"]
        ops = [_create("run", rid, {"experiment": self.experiment, "name": names[rid][1]})]
        for k, did in enumerate(data):
            names[did] = ["artifacts", f"w{w}-bd{i}-{k}"]
            ops.append(_create("artifact", did, {"name": names[did][1], "kind": "dataset"}))
        ops.append(_create("artifact", mid, {"name": names[mid][1], "kind": "model"}))
        step = {
            "run": rid,
            "executable": self.executable,
            "name": names[eid][1],
            "kind": "train",
            "inputArtifacts": data,
            "outputArtifacts": [mid],
        }
        ops.append(_create("execution", eid, step))
        edges = [["execution_inputs", eid, d] for d in data] + [["execution_outputs", eid, mid]]
        if self.executions:
            older = self.rng.choice(self.executions)
            ops.append(
                {"op": "link", "entity": "execution", "id": older, "body": {"successors": [eid]}}
            )
            edges.append(["execution_successors", older, eid])
        body = {"operations": ops}
        if self.writer.send("POST", f"{API}/batch", body, op="batch", entities=names, edges=edges):
            self.datasets += data
            self.runs.append(rid)
            self.executions.append(eid)

    def loop(self, duration: float) -> None:
        end = time.monotonic() + duration
        i = 0
        while time.monotonic() < end:
            i += 1
            choice = self.rng.random()
            if choice < 0.2 or not self.datasets:
                dataset = self.artifact(i, "dataset")
                if dataset:
                    self.datasets.append(dataset)
            elif choice < 0.35 or not self.runs:
                self.run(i)
            elif choice < 0.55:
                self.execution(i)
            elif choice < 0.7 and self.executions:
                self.edge(i)
            else:
                self.batch(i)
        self.writer.journal.close()


def crash(cfg: dict[str, Any]) -> None:
    CrashWriter(cfg).loop(cfg["duration"])


def concurrent(cfg: dict[str, Any]) -> None:
    """``cfg["count"]`` rounds of: the same idempotent create as every other writer, a run and
    an artifact of its own, and a read-modify-write of one shared experiment with If-Match."""
    w = cfg["worker"]
    writer = Writer(cfg["url"], Journal(cfg["journal"]))
    experiment, shared_ids = cfg["experiment"], cfg["shared"]
    for i in range(cfg["count"]):
        sid = shared_ids[i % len(shared_ids)]
        name = f"shared-{sid[:8]}"
        body = {"id": sid, "name": name, "kind": "dataset", "uri": f"s3://shared/{sid}"}
        entities = {sid: ["artifacts", name]}
        writer.send("POST", f"{API}/artifacts", body, op="shared", entities=entities)
        rid, name = _id(), f"w{w}-r{i}"
        body = {"id": rid, "experiment": experiment, "name": name}
        writer.send("POST", f"{API}/runs", body, op="run", entities={rid: ["runs", name]})
        aid, name = _id(), f"w{w}-a{i}"
        body = {"id": aid, "name": name, "kind": "model", "uri": f"s3://w{w}/{i}"}
        writer.send(
            "POST", f"{API}/artifacts", body, op="artifact", entities={aid: ["artifacts", name]}
        )
        key = f"w{w}-{i}"
        while True:
            current = writer.http.get(f"{API}/experiments/{experiment}")
            if current.status_code == 503:
                continue
            revision = current.headers["ETag"].strip('"')
            annotations = {**current.json()["annotations"], key: str(i)}
            response = writer.http.patch(
                f"{API}/experiments/{experiment}",
                json={"annotations": annotations},
                headers={"If-Match": f'"{revision}"'},
            )
            if response.status_code in (412, 503):
                continue  # someone else changed it since: read it again and reapply
            if response.is_success:
                writer.journal.write({"annotation": key, "revision": int(revision)})
            else:
                writer.journal.write({"refused": key, "status": response.status_code})
            break
    writer.journal.close()


if __name__ == "__main__":
    config = json.loads(sys.argv[1])
    {"crash": crash, "concurrent": concurrent}[config["mode"]](config)
