"""The plugin component (thesis 6.4, 7.3): hooks around every write, found by entry points.

``spec`` is the hook specification, ``manager`` loads and calls plugins; the built-in
plugins (``notifications``, ``mlflow-registry``) are registered exactly like third-party
ones.
"""

from modeltrail.plugins.spec import ENTRY_POINT_GROUP, hookimpl

__all__ = ["ENTRY_POINT_GROUP", "hookimpl"]
