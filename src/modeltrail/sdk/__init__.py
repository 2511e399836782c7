"""The Python SDK: ``connect()``, runs and steps, artifacts described by themselves."""

from modeltrail.sdk.artifacts import (
    Artifact,
    ArtifactSpec,
    MissingFileWarning,
    artifact,
    dataset,
    metrics,
    model,
)
from modeltrail.sdk.autologging import autolog
from modeltrail.sdk.autologging.torch import epochs
from modeltrail.sdk.client import Trail, connect, load_model
from modeltrail.sdk.connection import Connection
from modeltrail.sdk.registry import ModelVersion
from modeltrail.sdk.steps import Step, current_step
from modeltrail.sdk.tracking import Run, current_run
from modeltrail.sdk.triggers import Trigger

__all__ = [
    "Artifact",
    "ArtifactSpec",
    "Connection",
    "MissingFileWarning",
    "ModelVersion",
    "Run",
    "Step",
    "Trail",
    "Trigger",
    "artifact",
    "autolog",
    "connect",
    "current_run",
    "current_step",
    "dataset",
    "epochs",
    "load_model",
    "metrics",
    "model",
]
