"""Reading why a run started from the environment a scheduler or CI system gives the process.

In order: ``MODELTRAIL_TRIGGER`` (``data-change``, ``schedule:nightly``, or a JSON object with a
``cause``); Argo Workflows / Argo Events labels exposed to the pod (environment variables or a
downward-API labels file); GitHub Actions, GitLab CI and Jenkins variables.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

MANUAL, SCHEDULE, DATA_CHANGE, CODE_CHANGE, EXTERNAL = (
    "manual",
    "schedule",
    "data change",
    "code change",
    "external",
)


class Announced(NamedTuple):
    """A trigger as the environment announces it, in plain values (``sdk.triggers.Trigger``
    is made of these)."""

    cause: str
    source: str
    details: dict[str, Any]


_CAUSES = {c.replace(" ", "-"): c for c in (MANUAL, SCHEDULE, DATA_CHANGE, CODE_CHANGE, EXTERNAL)}
_CAUSES.update({c.replace(" ", "_"): c for c in (DATA_CHANGE, CODE_CHANGE)})
_CAUSES.update({"cron": SCHEDULE, "data": DATA_CHANGE, "code": CODE_CHANGE})

ARGO_CRON = "workflows.argoproj.io/cron-workflow"
ARGO_SENSOR = "events.argoproj.io/sensor"
ARGO_EVENT_TRIGGER = "events.argoproj.io/trigger"
ARGO_WORKFLOW = "workflows.argoproj.io/workflow"
DEFAULT_LABELS_FILE = "/etc/podinfo/labels"


def from_variable(value: str) -> Announced | None:
    value = value.strip()
    if not value:
        return None
    if value.startswith("{"):
        try:
            data = json.loads(value)
        except ValueError:
            data = None
        if isinstance(data, dict) and data.get("cause"):
            cause = _CAUSES.get(str(data.pop("cause")).lower().replace(" ", "-"), EXTERNAL)
            source = str(data.pop("source", "MODELTRAIL_TRIGGER"))
            return Announced(cause, source, data)
    head, _, rest = value.partition(":")
    named = _CAUSES.get(head.lower().replace(" ", "-"))
    if named is None:
        return Announced(EXTERNAL, "MODELTRAIL_TRIGGER", {"detail": value})
    details = {"detail": rest} if rest else {}
    return Announced(named, "MODELTRAIL_TRIGGER", details)


def read_labels(path: str | None = None) -> dict[str, str]:
    """A Kubernetes downward-API labels file: ``key="value"`` lines."""
    file = Path(path or os.environ.get("MODELTRAIL_POD_LABELS", DEFAULT_LABELS_FILE))
    labels: dict[str, str] = {}
    try:
        text = file.read_text(encoding="utf-8")
    except OSError:
        return labels
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            labels[key.strip()] = value.strip().strip('"')
    return labels


def _env_label(env: Mapping[str, str], label: str) -> str | None:
    """A label exposed as an environment variable, e.g. ARGO_CRON_WORKFLOW or the label itself."""
    short = label.rsplit("/", 1)[-1].upper().replace("-", "_")
    prefix = "ARGO_" if label.startswith("workflows.") else "ARGO_EVENTS_"
    return env.get(label) or env.get(prefix + short)


def from_argo(env: Mapping[str, str], labels: Mapping[str, str]) -> Announced | None:
    def get(label: str) -> str | None:
        return labels.get(label) or _env_label(env, label)

    workflow = get(ARGO_WORKFLOW) or env.get("ARGO_WORKFLOW_NAME")
    cron = get(ARGO_CRON)
    if cron:
        return Announced(
            SCHEDULE, "argo-cron-workflow", _clean({"cronWorkflow": cron, "workflow": workflow})
        )
    sensor = get(ARGO_SENSOR)
    if sensor:
        return Announced(
            EXTERNAL,
            "argo-events-sensor",
            _clean({"sensor": sensor, "trigger": get(ARGO_EVENT_TRIGGER), "workflow": workflow}),
        )
    return None


def from_ci(env: Mapping[str, str]) -> Announced | None:
    if env.get("GITHUB_ACTIONS") == "true":
        event = env.get("GITHUB_EVENT_NAME", "")
        cause = {
            "push": CODE_CHANGE,
            "pull_request": CODE_CHANGE,
            "schedule": SCHEDULE,
            "workflow_dispatch": MANUAL,
        }.get(event, EXTERNAL)
        server = env.get("GITHUB_SERVER_URL", "https://github.com")
        repo = env.get("GITHUB_REPOSITORY")
        return Announced(
            cause,
            "github-actions",
            _clean(
                {
                    "event": event,
                    "commit": env.get("GITHUB_SHA"),
                    "ref": env.get("GITHUB_REF"),
                    "repository": f"{server}/{repo}" if repo else None,
                    "actor": env.get("GITHUB_ACTOR"),
                    "ciRun": env.get("GITHUB_RUN_ID"),
                    "workflow": env.get("GITHUB_WORKFLOW"),
                }
            ),
        )
    if env.get("GITLAB_CI") == "true":
        source = env.get("CI_PIPELINE_SOURCE", "")
        cause = {
            "push": CODE_CHANGE,
            "merge_request_event": CODE_CHANGE,
            "schedule": SCHEDULE,
            "web": MANUAL,
        }.get(source, EXTERNAL)
        return Announced(
            cause,
            "gitlab-ci",
            _clean(
                {
                    "event": source,
                    "commit": env.get("CI_COMMIT_SHA"),
                    "ref": env.get("CI_COMMIT_REF_NAME"),
                    "repository": env.get("CI_PROJECT_URL"),
                    "ciRun": env.get("CI_PIPELINE_ID"),
                    "user": env.get("GITLAB_USER_LOGIN"),
                }
            ),
        )
    if env.get("JENKINS_URL"):
        causes = env.get("BUILD_CAUSE", "").upper()
        if "TIMERTRIGGER" in causes:
            cause = SCHEDULE
        elif "SCMTRIGGER" in causes or "BRANCHEVENT" in causes:
            cause = CODE_CHANGE
        elif "USERIDCAUSE" in causes or "MANUALTRIGGER" in causes:
            cause = MANUAL
        else:
            cause = EXTERNAL
        return Announced(
            cause,
            "jenkins",
            _clean(
                {
                    "event": causes or None,
                    "commit": env.get("GIT_COMMIT"),
                    "repository": env.get("GIT_URL"),
                    "ciRun": env.get("BUILD_URL") or env.get("BUILD_NUMBER"),
                    "job": env.get("JOB_NAME"),
                }
            ),
        )
    return None


def detect(
    env: Mapping[str, str] | None = None, labels: Mapping[str, str] | None = None
) -> Announced | None:
    env = os.environ if env is None else env
    explicit = env.get("MODELTRAIL_TRIGGER")
    if explicit:
        trigger = from_variable(explicit)
        if trigger:
            return trigger
    argo = from_argo(env, read_labels() if labels is None else labels)
    return argo or from_ci(env)


def _clean(values: dict[str, str | None]) -> dict[str, str]:
    return {k: v for k, v in values.items() if v}
