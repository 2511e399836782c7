"""Scale-out: several servers on one PostgreSQL behind nginx serve 50 concurrent clients with
no error and no lost write (bounded: a few seconds; the figures are in docs/operations.md)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "faults"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from benchmarks.nginx_proxy import nginx_binary  # noqa: E402
from load import run_load  # noqa: E402
from pgcluster import PrivateCluster, available  # noqa: E402


@pytest.mark.slow
@pytest.mark.skipif(
    nginx_binary() is None, reason="nginx is not installed (apt-get install -y nginx)"
)
@pytest.mark.skipif(
    not available(), reason="PostgreSQL server binaries (initdb, pg_ctl) are not installed"
)
def test_servers_behind_nginx_lose_nothing_under_50_clients() -> None:
    cluster = PrivateCluster()
    cluster.start()
    try:
        report = run_load(cluster.url, servers=2, clients=50, duration=5)
    finally:
        cluster.destroy()
    print(report)
    assert report["errors"] == 0, report["errorSamples"]
    assert report["writesAcknowledged"] >= 50
    assert report["lostWrites"] == {"runs": 0, "artifacts": 0, "executions": 0}
