"""What the client reads and writes besides runs and steps: experiments, pipelines and
executables found or created by identity; artifacts, versioned and reused when equal; their
files; the model registry, kinds and annotations."""

from __future__ import annotations

import functools
import os
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

from modeltrail.domain.fingerprint import is_trigger
from modeltrail.domain.registry import ModelRef
from modeltrail.errors import Conflict, NotFound, ServerUnreachable
from modeltrail.sdk import files as transfer
from modeltrail.sdk.artifacts import Artifact, ArtifactSpec
from modeltrail.sdk.buffer import PLURAL, Write
from modeltrail.sdk.collect.executable import CodeInfo
from modeltrail.sdk.collect.files import hash_file
from modeltrail.sdk.delivery import API, Delivery
from modeltrail.sdk.registry import ModelVersion
from modeltrail.sdk.tracking import current_run

# Ids of find-or-create entities derive from their identity, so that an entity made while the
# server was away is the same entity when the spool is replayed.
NAMESPACE = uuid.UUID("5b0e7f8e-3c1a-4f6b-9a51-6d2f0e7c4a10")
ENTITY = {plural: entity for entity, plural in PLURAL.items()}


class Catalog(Delivery):
    """The entities of one store, read and written through ``Delivery``."""

    # What this client found or made, so that it asks once. Made on first use rather than in an
    # ``__init__`` of this class, so that ``Trail(...)`` keeps ``Delivery``'s typed options.

    @functools.cached_property
    def _ids(self) -> dict[tuple[str, str], str]:
        return {}

    @functools.cached_property
    def _pipeline_executables(self) -> dict[str, list[str]]:
        return {}

    @functools.cached_property
    def _versions(self) -> dict[tuple[str, str, str], tuple[str, str, int]]:
        """(experiment, kind, name) -> the latest version stored, what it holds, the highest
        number."""
        return {}

    # ------------------------------------------------------------------ find or create

    def _ensure(
        self, plural: str, identity: dict[str, Any], body: dict[str, Any]
    ) -> dict[str, Any]:
        """The one entity with this identity (name, version, uri), created if there is none."""
        key = (plural, repr(sorted(identity.items())))
        if key in self._ids:
            return {"id": self._ids[key]}
        filters = [f"{k}:eq:{v}" for k, v in identity.items() if k in {"name", "version"}]
        found = self.get(f"{API}/{plural}", filter=filters, sort="createTime", limit=100)
        match = None
        for item in (found or {}).get("items", []):
            if all(item.get(k) == v for k, v in identity.items()):
                match = item
                break
        if match is None:
            match = {**body, "id": str(uuid.uuid5(NAMESPACE, f"{plural}\0{key[1]}"))}
            try:
                stored = self.send("POST", f"{API}/{plural}", match)
            except Conflict:
                stored = None  # made earlier with other annotations: the id is the entity's
            match = stored or match
        self._ids[key] = str(match["id"])
        return match

    def experiment_id(self, name: str) -> str:
        return str(self._ensure("experiments", {"name": name}, {"name": name})["id"])

    def pipeline_id(self, name: str, *, version: str = "1", uri: str | None = None) -> str:
        identity = {"name": name, "version": version, "uri": uri}
        stored = self._ensure(
            "pipelines", identity, {k: v for k, v in identity.items() if v is not None}
        )
        pid = str(stored["id"])
        if "executables" in stored:
            self._pipeline_executables.setdefault(pid, [str(e) for e in stored["executables"]])
        return pid

    def executable_id(self, code: CodeInfo, *, pipeline: str | None = None) -> str:
        identity = {"name": code.name, "version": code.version, "uri": code.uri}
        body = {"name": code.name, "version": code.version, "annotations": code.annotations}
        if code.uri:
            body["uri"] = code.uri
        eid = str(self._ensure("executables", identity, body)["id"])
        if pipeline is not None:
            known = self._pipeline_executables.setdefault(pipeline, [])
            if eid not in known:
                # Other processes of the pipeline may have added theirs: extend the stored list.
                try:
                    stored_pipeline = self.get(f"{API}/pipelines/{pipeline}")
                except NotFound:
                    stored_pipeline = None
                current = [str(e) for e in (stored_pipeline or {}).get("executables", [])]
                known[:] = list(dict.fromkeys([*current, *known, eid]))
                self.write(Write("update", "pipeline", pipeline, {"executables": known}))
        return eid

    # ------------------------------------------------------------------ artifacts

    def store(
        self,
        spec: ArtifactSpec | Artifact,
        *,
        reuse_equal: bool = False,
        create_time: str | None = None,
        upload: bool = True,
    ) -> Artifact:
        """Store a described artifact (or pass a stored one through), and upload its files
        (``mt.model(..., save=True)``, ``mt.dataset(..., upload=True)``) unless ``upload`` is
        False (a step uploads them once it has recorded the artifact as its own).

        With ``reuse_equal``, an equal artifact already stored (same fingerprint) is returned
        instead of a copy: what a step reads is usually what an earlier step wrote.
        """
        if isinstance(spec, Artifact):
            return spec
        stored = self._store(spec, reuse_equal=reuse_equal, create_time=create_time)
        if upload:
            self.upload(stored, spec)
        return stored

    def _store(self, spec: ArtifactSpec, *, reuse_equal: bool, create_time: str | None) -> Artifact:
        spec = self._versioned(spec)
        artifact_id = str(uuid.uuid4())
        fingerprint = spec.fingerprint(artifact_id)
        same = _same_artifact(spec, fingerprint)
        key = (spec.kind, *same)
        if reuse_equal:
            kept = self.pending.artifacts.get(key)
            if kept is not None:
                return kept
            # Kept writes matter to the lookup only if they change an artifact.
            found = self.get(
                f"{API}/artifacts",
                read_own_writes=self.pending.changes("artifact"),
                filter=same,
                sort="-createTime",
                limit=20,
            )
            for item in (found or {}).get("items", []):
                if item["kind"] == spec.kind:
                    return Artifact.from_json(item)
        body = spec.body(artifact_id)
        if create_time:
            body["createTime"] = create_time
        art = Artifact.from_json({**body, "fingerprint": fingerprint})
        stored = self.write(Write("create", "artifact", art.id, body), same_as=key, artifact=art)
        if stored:
            art = Artifact.from_json(stored)
        self._annotations[("artifacts", art.id)] = dict(art.annotations)
        return art

    def _versioned(self, spec: ArtifactSpec) -> ArtifactSpec:
        """``spec`` with its version: as given, else that of the latest artifact of its kind and
        name in the run's experiment if it holds the same, else the next one (1 for the first).
        Versions this client gave are remembered, so that a name written many times costs one
        lookup; the lookup does not send the kept writes (the remembered ones cover them)."""
        if spec.version is not None:
            return spec
        run = current_run()
        experiment = run.experiment_id if run is not None else None
        if experiment is None or is_trigger(spec.kind):
            return replace(spec, version="1")
        key = (experiment, spec.kind, spec.name)
        content = spec.content()
        latest = self._versions.get(key)
        if latest is None:
            found = self.get(
                f"{API}/artifacts",
                read_own_writes=False,
                filter=[
                    f"experiment:eq:{experiment}",
                    f"kind:eq:{spec.kind}",
                    f"name:eq:{spec.name}",
                ],
                sort="-createTime",
                limit=VERSION_LOOKBACK,
            )
            items = (found or {}).get("items") or []
            if items:
                numbers = [int(a["version"]) for a in items if str(a["version"]).isdigit()]
                latest = (str(items[0]["version"]), _content_of(items[0]), max(numbers, default=1))
        if latest is None:
            version, highest = "1", 1
        elif latest[1] == content:
            version, highest = latest[0], latest[2]
        else:
            highest = latest[2] + 1
            version = str(highest)
        self._versions[key] = (version, content, highest)
        return replace(spec, version=version)

    def artifact(self, ref: str) -> Artifact:
        """A stored artifact by id, a registered model's version (``models:/NAME@ALIAS``,
        ``models:/NAME/3``, ``models:/NAME``), or the latest artifact with that name."""
        if ModelRef.is_reference(ref):
            version = self.resolve(ref)
            return self.artifact(version.artifact)
        try:
            uuid.UUID(ref)
            data = self.get(f"{API}/artifacts/{ref}")
        except ValueError:
            page = self.get(
                f"{API}/artifacts", filter=[f"name:eq:{ref}"], sort="-createTime", limit=1
            )
            data = page["items"][0] if page and page["items"] else None
            if page is not None and data is None:
                raise NotFound(f"no artifact is named '{ref}'") from None
        if data is None:
            raise ServerUnreachable(f"{self.target} cannot be reached to read artifact {ref}")
        return Artifact.from_json(data)

    # ------------------------------------------------------------------ files

    def upload(self, artifact: Artifact | str, files: ArtifactSpec | dict[str, Any]) -> list[Any]:
        """Upload files to a stored artifact: those of a description (``save=True``,
        ``upload=True``), or ``{path in the artifact: local file}``. Files the artifact
        already holds with the same content are not sent again. The writes kept for the next
        batch are sent first: the server must know the artifact."""
        spec = files if isinstance(files, ArtifactSpec) else None
        wanted = {k: Path(v) for k, v in (spec.files if spec else files).items()}  # type: ignore[union-attr]
        if not wanted:
            return []
        artifact_id = artifact.id if isinstance(artifact, Artifact) else str(artifact)
        self.send_pending()
        try:
            held = {
                f["path"]: f["sha256"] for f in transfer.list_files(self.conn, artifact_id)["items"]
            }
            done = []
            for path, local in wanted.items():
                if held.get(path) == hash_file(local):
                    continue
                done.append(transfer.upload(self.conn, artifact_id, path, local))
            return done
        finally:
            if spec is not None and spec.scratch is not None:
                transfer.remove_folder(spec.scratch)

    def files(self, artifact: Artifact | str, *, verify: bool = False) -> list[dict[str, Any]]:
        """The files of a stored artifact: path, size, sha256; with ``verify``, each also says
        whether its content is still in the file store (``missing``)."""
        artifact_id = self._artifact_id(artifact)
        listed = transfer.list_files(self.conn, artifact_id, verify=verify)
        gone = set(listed.get("missing") or [])
        items: list[dict[str, Any]] = listed["items"]
        if verify:
            for item in items:
                item["missing"] = item["path"] in gone
        return items

    def download(
        self,
        artifact: Artifact | str,
        dest: str | os.PathLike[str] | None = None,
        *,
        path: str | None = None,
    ) -> Path:
        """Download an artifact's files (an artifact, its id, a name, or a model reference
        ``models:/NAME@ALIAS``, ``models:/NAME/3``) into ``dest`` (default: a cache folder of
        the artifact's own), checking each file's sha256; the folder, or the one file of
        ``path``. Files already there with the right content are not fetched again."""
        artifact_id = self._artifact_id(artifact)
        folder = Path(dest) if dest is not None else transfer.cache_root() / artifact_id
        return transfer.download(self.conn, artifact_id, folder, path=path)

    def load_model(self, ref: Artifact | str) -> Any:
        """Fetch a model's files and load it: a model saved by ``mt.model(obj, save=True)``
        comes back as the object (joblib, ``torch.load``); other files as their path. Loading
        unpickles: load models from a store you trust."""
        artifact_id = self._artifact_id(ref)
        stored = ref if isinstance(ref, Artifact) else self.artifact(artifact_id)
        folder = self.download(artifact_id)
        return transfer.load(folder, stored.attributes)

    def _artifact_id(self, ref: Artifact | str) -> str:
        if isinstance(ref, Artifact):
            return ref.id
        if ref.startswith("models:/"):
            self.send_pending()
            try:
                version = self.conn.get(f"{API}/models/resolve", uri=ref)
            except NotFound as exc:
                raise NotFound(f"{ref}: {exc.detail}") from None
            return str(version["artifact"]["id"])
        return self.artifact(ref).id

    # ------------------------------------------------------------------ the model registry

    def register(
        self,
        artifact: Artifact | str,
        name: str,
        *,
        description: str | None = None,
        tags: dict[str, Any] | None = None,
    ) -> ModelVersion | None:
        """Register a stored model artifact (or its id) as the next version of the registered
        model ``name``, which is created if it is new. Registering the same artifact again
        answers the version it already is. None when the server is away: the registration is
        kept with the other writes and made when it is back."""
        artifact_id = artifact.id if isinstance(artifact, Artifact) else str(artifact)
        body: dict[str, Any] = {
            "artifact": artifact_id,
            "tags": {str(k): str(v) for k, v in (tags or {}).items()},
        }
        if description is not None:
            body["description"] = description
        path = f"{API}/models/{quote(name, safe='')}/versions?createModel=true"
        answer = self.send("POST", path, body)
        return None if answer is None else ModelVersion.from_json(answer)

    def resolve(self, ref: str, *, at: str | None = None) -> ModelVersion:
        """The version a reference names: ``models:/NAME@ALIAS`` (``at``: where the alias
        pointed at that past time), ``models:/NAME/3``, ``models:/NAME`` (the newest)."""
        ModelRef.parse(ref, pointer="/ref")
        data = self.get(f"{API}/models/resolve", uri=ref, at=at)
        if data is None:
            raise ServerUnreachable(f"{self.target} cannot be reached to resolve {ref}")
        return ModelVersion.from_json(data)

    def register_kind(
        self, name: str, schema: dict[str, Any], description: str = "", *, if_missing: bool = True
    ) -> dict[str, Any] | None:
        """Register an artifact kind (no-op if the same schema is the latest version)."""
        if if_missing:
            try:
                existing = self.get(f"{API}/kinds/{name}")
            except NotFound:
                existing = None
            if existing is not None:
                return dict(existing)
        created = self.send(
            "POST", f"{API}/kinds", {"name": name, "description": description, "schema": schema}
        )
        return None if created is None else dict(created)

    # ------------------------------------------------------------------ annotations

    def annotate(self, target: Any, annotations: dict[str, Any] | None = None, **more: Any) -> None:
        """Add annotations to a run, a step, an artifact or any entity (``(plural, id)``)."""
        if hasattr(target, "_annotation_target"):
            plural, entity_id = target._annotation_target()
        elif isinstance(target, Artifact):
            plural, entity_id = "artifacts", target.id
        else:
            plural, entity_id = target
        new = {str(k): str(v) for k, v in {**(annotations or {}), **more}.items()}
        key = (plural, str(entity_id))
        if key not in self._annotations:
            current = None
            try:
                current = self.get(f"{API}/{plural}/{entity_id}")
            except NotFound:
                current = None
            self._annotations[key] = dict((current or {}).get("annotations") or {})
        self._annotations[key].update(new)
        body = {"annotations": self._annotations[key]}
        if plural in ENTITY:
            self.write(Write("update", ENTITY[plural], str(entity_id), body))
        else:
            self.send("PATCH", f"{API}/{plural}/{entity_id}", body)


# How many of a name's newest artifacts are read for the highest numbered version: those a user
# pinned (``version="v9"``) are skipped.
VERSION_LOOKBACK = 50


def _content_of(stored: dict[str, Any]) -> str:
    """``ArtifactSpec.content`` of a stored artifact."""
    return ArtifactSpec(
        stored["kind"],
        stored["name"],
        stored.get("uri"),
        "",
        stored.get("description"),
        stored.get("attributes") or {},
        stored.get("annotations") or {},
    ).fingerprint()


def _same_artifact(spec: ArtifactSpec, fingerprint: str) -> list[str]:
    """Filters for "this is already stored": the same content at the same place (uri and
    sha256), or else the same fingerprint (every attribute equal). The kind is compared by
    the caller: a filter that names a kind may only ask for the attributes that kind has, and
    ``sha256`` is one no artifact of the kind may hold yet."""
    digest = spec.attributes.get("sha256")
    if spec.uri and isinstance(digest, str):
        return [f"uri:eq:{spec.uri}", f"attributes.sha256:eq:{digest}"]
    return [f"fingerprint:eq:{fingerprint}"]
