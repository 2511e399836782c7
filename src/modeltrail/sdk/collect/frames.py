"""In-memory tables: pandas DataFrames and NumPy arrays (shape, columns, dtypes, rows, hash).

Neither library is imported here: values are recognised by their type's module, so a pipeline
without pandas pays nothing.
"""

from __future__ import annotations

import hashlib
from typing import Any


def _module(value: Any) -> str:
    return type(value).__module__.split(".", 1)[0]


def is_dataframe(value: Any) -> bool:
    return _module(value) == "pandas" and type(value).__name__ == "DataFrame"


def is_ndarray(value: Any) -> bool:
    return _module(value) == "numpy" and type(value).__name__ == "ndarray"


def describe_ndarray(array: Any) -> dict[str, Any]:
    import numpy as np

    contiguous = np.ascontiguousarray(array)
    digest = hashlib.sha256()
    digest.update(f"{contiguous.dtype.str}|{contiguous.shape}".encode())
    if contiguous.dtype.hasobject:
        digest.update(repr(contiguous.tolist()).encode())
    else:
        digest.update(contiguous.data.cast("B"))
    return {
        "type": "ndarray",
        "shape": list(contiguous.shape),
        "dtype": str(contiguous.dtype),
        "rows": int(contiguous.shape[0]) if contiguous.ndim else 1,
        "sha256": digest.hexdigest(),
    }


def describe_dataframe(frame: Any) -> dict[str, Any]:
    import pandas as pd

    digest = hashlib.sha256()
    digest.update(repr([(str(c), str(t)) for c, t in frame.dtypes.items()]).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
    return {
        "type": "DataFrame",
        "shape": [int(frame.shape[0]), int(frame.shape[1])],
        "rows": int(frame.shape[0]),
        "columns": [str(c) for c in frame.columns],
        "dtypes": {str(c): str(t) for c, t in frame.dtypes.items()},
        "sha256": digest.hexdigest(),
    }


def describe(value: Any) -> dict[str, Any] | None:
    if is_dataframe(value):
        return describe_dataframe(value)
    if is_ndarray(value):
        return describe_ndarray(value)
    return None
