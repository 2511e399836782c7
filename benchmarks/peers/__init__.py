"""Drivers for the peers. Each runs in the peers' own environment (``pip install -e '.[bench]'``)
as ``python -m benchmarks.peers.NAME --scale S --out FILE`` and writes its results as JSON."""
