"""Benchmarks: modeltrail side by side with ML Metadata and MLflow on one generated workload."""

import importlib.util
import os
import sys
from pathlib import Path

# Run from a checkout without installing: use the checkout's own source.
_SRC = Path(__file__).resolve().parents[1] / "src"
if importlib.util.find_spec("modeltrail") is None and _SRC.is_dir():
    sys.path.insert(0, str(_SRC))

# MLflow's client (3.x) sends usage telemetry from a thread that sets and unsets an environment
# variable while requests copy the environment: a race that fails a request with a KeyError on
# its name. The benchmarks' clients and the servers they start inherit this.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
