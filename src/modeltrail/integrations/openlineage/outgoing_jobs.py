"""OpenLineage out: the job of an event. A run's own events are of the job named after its
pipeline (else its experiment), in the namespace named after its experiment; a step's are of
the job named after its executable, with facets saying where its code is and what it does.
Names that arrived as OpenLineage (the ``openlineage.*`` annotations) are kept."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from openlineage.client.facet_v2 import (
    JobFacet,
    documentation_job,
    job_type_job,
    source_code_job,
    source_code_location_job,
)
from sqlalchemy.orm import Session

from modeltrail.domain import models as m
from modeltrail.store.tables import ExecutableRow, ExperimentRow, PipelineRow

INTEGRATION = "MODELTRAIL"


@dataclass
class JobName:
    namespace: str
    name: str
    facets: dict[str, JobFacet] = field(default_factory=dict)


def run_job(session: Session, run: m.Run, producer: str) -> JobName:
    """The job of a run's own events: its pipeline, else its experiment, in the namespace
    named after its experiment (or the names it arrived with)."""
    experiment = session.get(ExperimentRow, run.experiment)
    namespace = run.annotations.get("openlineage.namespace") or (
        experiment.annotations.get("openlineage.namespace") or experiment.name
        if experiment is not None
        else str(run.experiment)
    )
    pipeline = session.get(PipelineRow, run.pipeline) if run.pipeline else None
    if pipeline is not None:
        name = pipeline.annotations.get("openlineage.job") or pipeline.name
    else:
        name = run.annotations.get("openlineage.job") or (
            experiment.name if experiment is not None else run.name
        )
    job_type = job_type_job.JobTypeJobFacet(
        processingType="BATCH",
        integration=INTEGRATION,
        jobType="PIPELINE" if pipeline is not None else "RUN",
        producer=producer,
    )
    return JobName(namespace, name, {"jobType": job_type})


def step_job(session: Session, execution: m.Execution, parent: JobName, producer: str) -> JobName:
    """The job of a step's events: its executable, with where its code is."""
    executable = session.get(ExecutableRow, execution.executable)
    if executable is None:
        return JobName(parent.namespace, execution.name)
    notes = executable.annotations
    job = JobName(
        notes.get("openlineage.namespace") or parent.namespace,
        notes.get("openlineage.job") or executable.name,
    )
    p = producer
    job.facets["jobType"] = job_type_job.JobTypeJobFacet(
        processingType="BATCH", integration=INTEGRATION, jobType=execution.kind, producer=p
    )
    location = _source_location(executable, producer)
    if location is not None:
        job.facets["sourceCodeLocation"] = location
    source = notes.get("source")
    if source:
        job.facets["sourceCode"] = source_code_job.SourceCodeJobFacet(
            language=notes.get("language", "python"), sourceCode=source, producer=p
        )
    if executable.description:
        job.facets["documentation"] = documentation_job.DocumentationJobFacet(
            description=executable.description, producer=p
        )
    return job


def _source_location(
    executable: ExecutableRow, producer: str
) -> source_code_location_job.SourceCodeLocationJobFacet | None:
    """Where the executable's code is: its git repository at the commit, or its uri."""
    notes = executable.annotations
    repo, commit, uri = notes.get("git.url"), notes.get("git.commit"), executable.uri
    path = notes.get("path") if uri is None else uri
    web = _web_repository(repo) if repo else None
    url: str | None = None
    if web and commit and path and "://" not in path:
        url = f"{web}/blob/{commit}/{path.lstrip('/')}"
    elif uri and "://" in uri:
        url = uri
    elif web:
        url = web
    elif path and path.startswith("/"):
        url = f"file://{path}"
    if url is None:
        return None
    return source_code_location_job.SourceCodeLocationJobFacet(
        type="git" if repo else (urlsplit(url).scheme or "file"),
        url=url,
        repoUrl=_without_credentials(repo) if repo else None,
        path=path if path and "://" not in path else None,
        version=commit or executable.version,
        producer=producer,
    )


def _web_repository(repo: str) -> str | None:
    """``git@github.com:org/repo.git`` or ``https://github.com/org/repo.git`` as the
    repository's web address, for links to a file at a commit."""
    if repo.startswith("git@") and ":" in repo:
        host, _, path = repo[4:].partition(":")
        repo = f"https://{host}/{path}"
    if not repo.startswith(("https://", "http://")):
        return None
    parts = urlsplit(repo.removesuffix(".git"))
    return f"{parts.scheme}://{parts.hostname}{parts.path}".rstrip("/")


def _without_credentials(url: str) -> str:
    """A repository URL without the user and token some clones carry in it."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.scheme and parts.hostname and (parts.username or parts.password):
        port = f":{parts.port}" if parts.port else ""
        return parts._replace(netloc=f"{parts.hostname}{port}").geturl()
    return url
