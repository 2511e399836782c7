"""Loading plugins, calling their hooks one by one, and keeping score of their errors.

``PluginManager`` implements the services' ``Hooks`` protocol. Each plugin is called on its
own, so one plugin's failure is attributed to it, never stops the others, and never fails a
write: ``GET /api/v1/plugins`` shows every plugin's calls, errors and last error.
"""

from __future__ import annotations

import importlib
import inspect
import json
import logging
import os
import threading
import traceback
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pluggy
from pydantic import BaseModel

from modeltrail.domain import secrets, text
from modeltrail.plugins import spec
from modeltrail.plugins.spec import Store

log = logging.getLogger("modeltrail.plugins")

# Built-in plugins, switched on by name like any other (datasette's DEFAULT_PLUGINS).
BUILTIN: dict[str, str] = {
    "notifications": "modeltrail.plugins.notifications",
    "mlflow-registry": "modeltrail.integrations.mlflow.registry",
    "openlineage": "modeltrail.integrations.openlineage.emitter",
}

ENV_PLUGINS = "MODELTRAIL_PLUGINS"
ENV_CONFIG = "MODELTRAIL_PLUGIN_CONFIG"
ENV_SETTING_PREFIX = "MODELTRAIL_PLUGIN_"


class PluginError(RuntimeError):
    """A plugin named in the configuration cannot be found or loaded."""


@dataclass
class PluginState:
    name: str
    source: str
    plugin: Any
    settings: dict[str, Any]
    calls: int = 0
    errors: int = 0
    last_error: dict[str, Any] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, hook: str, failure: BaseException | None, **context: Any) -> None:
        with self.lock:
            self.calls += 1
            if failure is not None:
                self.errors += 1
                self.last_error = {
                    "hook": hook,
                    "error": secrets.mask_urls_in(f"{type(failure).__name__}: {failure}"),
                    "time": datetime.now(UTC).isoformat(),
                    **context,
                }


def _load(name: str) -> tuple[Any, str]:
    if name in BUILTIN:
        return importlib.import_module(BUILTIN[name]), "builtin"
    for ep in entry_points(group=spec.ENTRY_POINT_GROUP):
        if ep.name == name:
            return ep.load(), f"entry point {ep.value}"
    if "." in name or ":" in name:
        module, _, attr = name.partition(":")
        try:
            obj = importlib.import_module(module)
        except ImportError as exc:
            raise PluginError(f"plugin '{name}' cannot be imported: {exc}") from exc
        return (getattr(obj, attr) if attr else obj), f"module {name}"
    known = sorted({*BUILTIN, *(ep.name for ep in entry_points(group=spec.ENTRY_POINT_GROUP))})
    raise PluginError(f"no plugin is named '{name}'; known: {', '.join(known) or 'none'}")


class PluginManager:
    """The enabled plugins, in the order they were named."""

    def __init__(
        self, names: Iterable[str] = (), settings: Mapping[str, dict[str, Any]] | None = None
    ) -> None:
        self.pm = pluggy.PluginManager(spec.PROJECT)
        self.pm.add_hookspecs(spec)
        self.states: dict[str, PluginState] = {}
        settings = settings or {}
        for name in dict.fromkeys(names):
            obj, source = _load(name)
            if inspect.ismodule(obj) and hasattr(obj, "plugin"):
                obj = obj.plugin  # a module naming its plugin object or class
            if inspect.isclass(obj):
                obj = obj()
            self.pm.register(obj, name=name)
            self.states[name] = PluginState(name, source, obj, dict(settings.get(name, {})))
        self.metadata: Store | None = None

    @classmethod
    def from_config(
        cls,
        names: Iterable[str] = (),
        config_file: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> PluginManager:
        """Plugins named on the command line, in ``MODELTRAIL_PLUGINS`` (comma separated) or
        enabled in the configuration file; settings from the file, overridden by
        ``MODELTRAIL_PLUGIN_<NAME>_<KEY>`` variables."""
        env = os.environ if environ is None else environ
        wanted = [*names, *(n.strip() for n in env.get(ENV_PLUGINS, "").split(",") if n.strip())]
        config_file = config_file or env.get(ENV_CONFIG)
        settings: dict[str, dict[str, Any]] = {}
        if config_file:
            for name, conf in read_config(config_file).items():
                conf = dict(conf or {})
                if conf.pop("enabled", True):
                    wanted.append(name)
                settings[name] = conf
        for name in dict.fromkeys(wanted):
            prefix = ENV_SETTING_PREFIX + name.upper().replace("-", "_").replace(".", "_") + "_"
            for key, value in env.items():
                if key.startswith(prefix) and key != ENV_CONFIG:
                    settings.setdefault(name, {})[key[len(prefix) :].lower()] = value
        return cls(wanted, settings)

    # ------------------------------------------------------------ lifecycle

    def _impls(self, hook: str) -> list[tuple[PluginState, Any]]:
        by_name = {impl.plugin_name: impl for impl in getattr(self.pm.hook, hook).get_hookimpls()}
        return [(state, by_name[n].function) for n, state in self.states.items() if n in by_name]

    def start(self, metadata: Store) -> None:
        self.metadata = metadata
        for state, fn in self._impls("modeltrail_start"):
            try:
                fn(metadata=metadata, settings=state.settings)
            except Exception as exc:
                log.error("plugin %s failed to start: %s", state.name, _shown(exc))
                state.record("modeltrail_start", exc)

    def stop(self) -> None:
        for state, fn in self._impls("modeltrail_stop"):
            try:
                fn()
            except Exception as exc:
                log.error("plugin %s failed to stop: %s", state.name, _shown(exc))
                state.record("modeltrail_stop", exc)

    # ------------------------------------------------------------ the services' Hooks protocol

    def enrich(self, entity: str, action: str, data: BaseModel) -> BaseModel:
        for state, fn in self._impls("modeltrail_enrich"):
            failure: BaseException | None = None
            try:
                changed = fn(entity=entity, action=action, data=data)
                if changed is not None:
                    if not isinstance(changed, type(data)):
                        raise TypeError(
                            f"returned {type(changed).__name__}, not {type(data).__name__}"
                        )
                    # Re-validate: a plugin cannot store what a client could not send.
                    data = type(data).model_validate(changed.model_dump(exclude_unset=True))
            except Exception as exc:
                failure = exc
                log.error(
                    "plugin %s failed to enrich %s %s; left as sent: %s",
                    state.name,
                    action,
                    entity,
                    _shown(exc),
                )
            state.record("modeltrail_enrich", failure, entity=entity, action=action)
        return data

    def stored(self, entity: str, action: str, result: BaseModel) -> None:
        for state, fn in self._impls("modeltrail_stored"):
            failure: BaseException | None = None
            try:
                fn(entity=entity, action=action, result=result)
            except Exception as exc:
                failure = exc
                log.error(
                    "plugin %s failed after %s %s; the write stands: %s",
                    state.name,
                    action,
                    entity,
                    _shown(exc),
                )
            state.record(
                "modeltrail_stored",
                failure,
                entity=entity,
                action=action,
                id=str(getattr(result, "id", "")),
            )

    def listens(self, hook: str) -> bool:
        return bool(self._impls(f"modeltrail_{hook}"))

    # ------------------------------------------------------------ observability

    def status(self) -> list[dict[str, Any]]:
        status_impls = dict((s.name, fn) for s, fn in self._impls("modeltrail_status"))
        out = []
        for name, state in self.states.items():
            extra: dict[str, Any] | None = None
            if name in status_impls:
                try:
                    extra = status_impls[name]()
                except Exception as exc:
                    extra = {"statusError": _shown(exc)}
            with state.lock:
                out.append(
                    {
                        "name": name,
                        "source": state.source,
                        "hooks": sorted(h for h in spec.HOOKS if h in _hook_names(self.pm, name)),
                        "calls": state.calls,
                        "errors": state.errors,
                        "lastError": state.last_error,
                        "status": extra or {},
                    }
                )
        return out


def _shown(exc: BaseException) -> str:
    """An exception as a line that can be shown: URLs in it (a webhook's, with its token)
    masked."""
    return secrets.mask_urls_in("".join(traceback.format_exception_only(exc)).strip())


def _hook_names(pm: pluggy.PluginManager, name: str) -> set[str]:
    plugin = pm.get_plugin(name)
    return {caller.name for caller in pm.get_hookcallers(plugin) or []}


def read_config(path: str) -> dict[str, Any]:
    """``{"plugins": {NAME: {"enabled": true, KEY: VALUE}}}`` as JSON or YAML."""
    raw = Path(path).read_text()
    if path.endswith((".yaml", ".yml")):
        import yaml

        data = yaml.safe_load(raw) or {}
    else:
        data = json.loads(raw)
    if errors := text.invalid_text(data):  # a setting no log line or answer could show
        fields = ", ".join(e["pointer"] for e in errors[:5])
        raise PluginError(f"{path}: text that is not valid Unicode at {fields}")
    plugins = data.get("plugins", {})
    if not isinstance(plugins, dict):
        raise PluginError(f"{path}: 'plugins' must map plugin names to their settings")
    return plugins
