"""Profile the batch service on the 100k workload: ``python -m benchmarks.profile_ingest URL``.

Loads the workload's first 1,500 runs through ``run_batch`` in-process, in requests of about
``--batch`` entities, and prints the rate; run it under ``pyinstrument`` (``python -m
pyinstrument -m benchmarks.profile_ingest ...``) to see where the time goes. With ``--http``
the same batches are posted to a ``modeltrail server`` started on the database instead.
The CPU time the work took (the server's, over HTTP) is printed too: on a busy machine it
compares two versions more steadily than the elapsed time.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import psutil

from benchmarks.workload import VALIDATION_KIND, batches, generate


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url", help="database URL (a fresh SQLite file or PostgreSQL database)")
    parser.add_argument("--batch", type=int, default=1000, help="entities per batch (1 = one run)")
    parser.add_argument("--runs", type=int, default=1500)
    parser.add_argument("--http", action="store_true", help="post to a server over HTTP")
    args = parser.parse_args()

    w = generate("100k")
    work = batches(w.runs[: args.runs], args.batch)
    if args.http:
        from benchmarks.modeltrail_driver import Http

        with tempfile.TemporaryDirectory() as workdir:
            target = Http(args.url, Path(workdir))
            try:
                target.register_kind()
                target.batch(w.setup)
                server = psutil.Process(target.pid())
                start, cpu = time.perf_counter(), _cpu(server)
                for ops in work:
                    target.batch(ops)
                seconds, cpu = time.perf_counter() - start, _cpu(server) - cpu
            finally:
                target.close()
    else:
        from modeltrail.domain.batch import BatchRequest
        from modeltrail.domain.models import KindCreate
        from modeltrail.services.batch import run_batch
        from modeltrail.services.kinds import register_kind
        from modeltrail.services.metadata import Metadata

        meta = Metadata.open(args.url)
        meta.call(register_kind, KindCreate.model_validate(VALIDATION_KIND))
        run_batch(meta, BatchRequest.model_validate({"operations": w.setup}).operations)
        me = psutil.Process(os.getpid())
        start, cpu = time.perf_counter(), _cpu(me)
        for ops in work:
            run_batch(meta, BatchRequest.model_validate({"operations": ops}).operations)
        seconds, cpu = time.perf_counter() - start, _cpu(me) - cpu
    n = sum(len(ops) for ops in work)
    print(
        f"{n} entities in {len(work)} batches: {n / seconds:,.0f} entities/s, "
        f"{n / cpu:,.0f} per CPU second"
    )


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


if __name__ == "__main__":
    main()
