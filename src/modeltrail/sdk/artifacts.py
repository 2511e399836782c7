"""Describing artifacts: ``dataset``, ``model``, ``metrics``, ``artifact``.

These functions only describe; nothing is sent until a step records the description as an
input or an output (``step.input(...)``, ``step.output(...)``), which returns a stored
``Artifact`` with its id.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from modeltrail.domain.fingerprint import artifact_fingerprint
from modeltrail.sdk import files as transfer
from modeltrail.sdk.collect import files, frames
from modeltrail.sdk.collect import sklearn as sk
from modeltrail.sdk.collect import torch as th


def plain_json(value: Any) -> Any:
    """The value as the server will see it after a JSON round trip (numpy scalars, tuples...)."""
    return orjson.loads(
        orjson.dumps(
            value, default=_default, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS
        )
    )


def _default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    return str(value)


@dataclass
class ArtifactSpec:
    """An artifact described but not yet stored."""

    kind: str
    name: str
    uri: str | None = None
    # None: the next version of the name in the run's experiment when its content is new
    version: str | None = None
    description: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    # Files to upload once the artifact is stored: {path in the artifact: local file}.
    files: dict[str, Path] = field(default_factory=dict, compare=False, repr=False)
    # A folder this description made (a serialised model), removed once uploaded.
    scratch: Path | None = field(default=None, compare=False, repr=False)

    def body(self, artifact_id: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": artifact_id,
            "name": self.name,
            "version": self.version or "1",
            "kind": self.kind,
            "annotations": {str(k): str(v) for k, v in self.annotations.items()},
            "attributes": plain_json(self.attributes),
        }
        if self.uri is not None:
            body["uri"] = self.uri
        if self.description is not None:
            body["description"] = self.description
        return body

    def content(self) -> str:
        """What the artifact holds, whatever its version: equal for two versions of one thing
        only if nothing else differs."""
        return ArtifactSpec(
            self.kind, self.name, self.uri, "", self.description, self.attributes, self.annotations
        ).fingerprint()

    def fingerprint(self, artifact_id: str | None = None) -> str:
        """The fingerprint the server will compute for this artifact (thesis 7.2.1 equality);
        a trigger's includes its id (every trigger is an event of its own)."""
        b = self.body("")
        return artifact_fingerprint(
            id=artifact_id,
            name=b["name"],
            version=b["version"],
            kind=b["kind"],
            description=b.get("description"),
            uri=b.get("uri"),
            annotations=b["annotations"],
            attributes=b["attributes"],
        )


@dataclass(frozen=True)
class Artifact:
    """A stored artifact. Pass it to another step's ``input`` to link the two steps."""

    id: str
    kind: str
    name: str
    version: str = "1"
    uri: str | None = None
    fingerprint: str = ""
    attributes: dict[str, Any] = field(default_factory=dict, compare=False)
    annotations: dict[str, str] = field(default_factory=dict, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Artifact:
        return cls(
            id=str(data["id"]),
            kind=data["kind"],
            name=data["name"],
            version=data.get("version", "1"),
            uri=data.get("uri"),
            fingerprint=data.get("fingerprint", ""),
            attributes=data.get("attributes") or {},
            annotations=data.get("annotations") or {},
        )


class MissingFileWarning(UserWarning):
    """A described file or directory does not exist: its size and hash are unknown."""


def _missing(path: Path, must_exist: bool) -> None:
    where = path.resolve()
    if must_exist:
        raise FileNotFoundError(f"dataset {where}: no such file or directory (must_exist=True)")
    warnings.warn(
        f"dataset {where} does not exist: it is recorded as Missing, without size or sha256 "
        "(pass must_exist=True to refuse it)",
        MissingFileWarning,
        stacklevel=3,
    )


def _is_local_path(source: Any) -> bool:
    if isinstance(source, os.PathLike):
        return True
    return isinstance(source, str) and "://" not in source


def _path_uri(path: Path) -> str:
    return str(path.resolve())


def artifact(
    kind: str,
    name: str,
    *,
    uri: str | None = None,
    version: str | None = None,
    description: str | None = None,
    annotations: dict[str, Any] | None = None,
    **attributes: Any,
) -> ArtifactSpec:
    """An artifact of any registered kind (``deployment``, ``validation``, ...)."""
    return ArtifactSpec(
        kind,
        name,
        uri,
        version,
        description,
        attributes,
        {k: str(v) for k, v in (annotations or {}).items()},
    )


def dataset(
    source: Any = None,
    /,
    *,
    name: str | None = None,
    uri: str | None = None,
    version: str | None = None,
    classes: Any = None,
    description: str | None = None,
    annotations: dict[str, Any] | None = None,
    progress: bool | None = None,
    must_exist: bool = False,
    upload: bool = False,
    **attributes: Any,
) -> ArtifactSpec:
    """A dataset: a file or directory path, a DataFrame, a NumPy array, or just a uri.

    With ``upload=True`` the file (or every file of the directory) is uploaded to the store
    once a step records the dataset; the path must exist.

    Files and directories get ``size`` and a streamed ``sha256``; DataFrames and arrays get
    ``shape``, ``rows``, ``columns``/``dtypes`` and a content hash. ``classes`` (a count or the
    list of labels) is kept as an attribute and as an annotation. A path that does not exist is
    described as ``{"type": "Missing"}`` with a ``MissingFileWarning``; with ``must_exist=True``
    it raises ``FileNotFoundError`` instead.
    """
    collected: dict[str, Any] = {}
    if source is not None and _is_local_path(source):
        path = Path(source)
        if not path.exists():
            _missing(path, must_exist)
        collected = files.describe_path(path, progress=progress)
        uri = uri or _path_uri(path)
        name = name or (path.stem if path.is_file() else path.name)
    elif isinstance(source, str):
        uri = uri or source
        name = name or source.rstrip("/").rsplit("/", 1)[-1].split(".", 1)[0] or "dataset"
    elif source is not None:
        collected = frames.describe(source) or {"type": type(source).__name__}
    notes = {k: str(v) for k, v in (annotations or {}).items()}
    if classes is not None:
        collected["classes"] = classes
        notes["classes"] = str(classes if isinstance(classes, int | str) else len(classes))
    collected.update(attributes)
    spec = ArtifactSpec("dataset", name or "dataset", uri, version, description, collected, notes)
    if upload:
        if source is None or not _is_local_path(source):
            raise ValueError("upload=True needs the path of a file or directory to upload")
        spec.files = transfer.files_of(source)
    return spec


def model(
    obj: Any = None,
    /,
    *,
    uri: str | os.PathLike[str] | None = None,
    name: str | None = None,
    version: str | None = None,
    hyperparameters: dict[str, Any] | None = None,
    sample: Any = None,
    optimizer: Any = None,
    description: str | None = None,
    annotations: dict[str, Any] | None = None,
    save: bool = False,
    **attributes: Any,
) -> ArtifactSpec:
    """A model: a scikit-learn estimator or a PyTorch module is described by itself (type,
    framework, hyperParameters, input and output schema); ``uri`` may name its saved file.

    With ``save=True`` its files are uploaded to the store once a step records it: the file or
    directory ``uri`` names, as it is; else the model itself, serialised (``torch.save`` for a
    PyTorch module, joblib for scikit-learn and anything else), and ``load_model`` loads it
    back."""
    collected: dict[str, Any] = {}
    if obj is not None and sk.is_estimator(obj):
        collected = sk.describe(obj, sample)
    elif obj is not None and th.is_module(obj):
        collected = th.describe(obj, optimizer)
    elif obj is not None:
        collected = {"type": type(obj).__name__}
    if hyperparameters:
        collected["hyperParameters"] = {**collected.get("hyperParameters", {}), **hyperparameters}
    uri_text = None
    if uri is not None:
        if _is_local_path(uri) and Path(uri).exists():
            described = files.describe_path(uri)
            collected["size"] = described.get("size")
            collected["sha256"] = described.get("sha256")
            uri_text = _path_uri(Path(uri))
        else:
            uri_text = str(uri)
    saved_files: dict[str, Path] = {}
    scratch = None
    if save:
        if uri is not None and _is_local_path(uri):
            saved_files = transfer.files_of(uri)
        elif obj is not None:
            scratch = transfer.temporary_folder()
            collected["format"], saved = transfer.serialise(obj, scratch)
            collected["size"] = saved.stat().st_size
            collected["sha256"] = files.hash_file(saved, use_cache=False)
            saved_files = {saved.name: saved}
        else:
            raise ValueError("save=True needs a model object or the local path of its files")
    collected.update(attributes)
    default_name = collected.get("type") or "model"
    spec = ArtifactSpec(
        "model",
        name or str(default_name),
        uri_text,
        version,
        description,
        collected,
        {k: str(v) for k, v in (annotations or {}).items()},
    )
    spec.files, spec.scratch = saved_files, scratch
    return spec


def metrics(
    name: str,
    value: Any,
    *,
    of: Artifact | str | None = None,
    schema: str | None = None,
    annotations: dict[str, Any] | None = None,
) -> ArtifactSpec:
    """A metric of another artifact (``of``): accuracy of a model, rows of a dataset, ..."""
    attrs: dict[str, Any] = {"value": plain_json(value), "schema": schema or _schema_of(value)}
    if of is not None:
        attrs["reference"] = of.id if isinstance(of, Artifact) else str(of)
    return ArtifactSpec(
        "metrics",
        name,
        None,
        None,
        None,
        attrs,
        {k: str(v) for k, v in (annotations or {}).items()},
    )


def _schema_of(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float) or hasattr(value, "item"):
        return "number"
    if isinstance(value, list | tuple):
        return "vector"
    if isinstance(value, dict):
        return "map"
    return "string"


__all__ = ["Artifact", "ArtifactSpec", "artifact", "dataset", "metrics", "model", "plain_json"]
