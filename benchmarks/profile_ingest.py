"""Profile the batch service on the 100k workload: ``python -m benchmarks.profile_ingest URL``.

Loads the workload's first 1,500 runs through ``run_batch`` in-process, in requests of about
``--batch`` entities, and prints the rate; run it under ``pyinstrument`` (``python -m
pyinstrument -m benchmarks.profile_ingest ...``) to see where the time goes.
"""

from __future__ import annotations

import argparse
import time

from benchmarks.workload import VALIDATION_KIND, batches, generate


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url", help="database URL (a fresh SQLite file or PostgreSQL database)")
    parser.add_argument("--batch", type=int, default=1000, help="entities per batch (1 = one run)")
    parser.add_argument("--runs", type=int, default=1500)
    args = parser.parse_args()

    from modeltrail.domain.batch import BatchRequest
    from modeltrail.domain.models import KindCreate
    from modeltrail.services.batch import run_batch
    from modeltrail.services.kinds import register_kind
    from modeltrail.services.metadata import Metadata

    w = generate("100k")
    meta = Metadata.open(args.url)
    meta.call(register_kind, KindCreate.model_validate(VALIDATION_KIND))
    run_batch(meta, BatchRequest.model_validate({"operations": w.setup}).operations)
    work = batches(w.runs[: args.runs], args.batch)
    start, n = time.perf_counter(), 0
    for ops in work:
        run_batch(meta, BatchRequest.model_validate({"operations": ops}).operations)
        n += len(ops)
    seconds = time.perf_counter() - start
    print(f"{n} entities in {len(work)} batches: {n / seconds:,.0f} entities/s")


if __name__ == "__main__":
    main()
