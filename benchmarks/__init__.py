"""Benchmarks: modeltrail side by side with ML Metadata and MLflow on one generated workload."""

import importlib.util
import sys
from pathlib import Path

# Run from a checkout without installing: use the checkout's own source.
_SRC = Path(__file__).resolve().parents[1] / "src"
if importlib.util.find_spec("modeltrail") is None and _SRC.is_dir():
    sys.path.insert(0, str(_SRC))
