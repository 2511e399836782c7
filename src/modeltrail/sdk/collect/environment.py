"""Where the code ran: interpreter, platform, host, user, and the ML packages it imported."""

from __future__ import annotations

import getpass
import platform
import socket
import sys
from importlib import metadata

# module imported -> distribution name reported
ML_PACKAGES = {
    "sklearn": "scikit-learn",
    "numpy": "numpy",
    "pandas": "pandas",
    "scipy": "scipy",
    "torch": "torch",
    "torchvision": "torchvision",
    "tensorflow": "tensorflow",
    "keras": "keras",
    "jax": "jax",
    "xgboost": "xgboost",
    "lightgbm": "lightgbm",
    "catboost": "catboost",
    "transformers": "transformers",
    "statsmodels": "statsmodels",
    "joblib": "joblib",
    "PIL": "pillow",
}


def package_versions() -> dict[str, str]:
    """Versions of the ML packages this process has imported so far (not merely installed)."""
    found = {}
    for module, dist in ML_PACKAGES.items():
        if module not in sys.modules:
            continue
        try:
            found[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            version = getattr(sys.modules[module], "__version__", None)
            if version:
                found[dist] = str(version)
    return found


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry in some containers
        return "unknown"


def environment() -> dict[str, str]:
    """Annotations (``env.*``) describing this process."""
    from modeltrail.version import __version__

    info = {
        "env.python": platform.python_version(),
        "env.implementation": platform.python_implementation(),
        "env.platform": platform.platform(),
        "env.host": socket.gethostname(),
        "env.user": _user(),
        "env.modeltrail": __version__,
    }
    info.update({f"env.package.{k}": v for k, v in package_versions().items()})
    return info
