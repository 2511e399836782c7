"""modeltrail: metadata and lineage of the whole life of machine-learning models.

import modeltrail as mt
trail = mt.connect()                      # MODELTRAIL_URL, else ./modeltrail.db in-process
with trail.run(experiment="handwriting", pipeline="digits") as run:
    with run.step("train", kind="train", config={"learning-rate": 0.01}) as step:
        data = step.input(mt.dataset("data/digits.npz"))
        model = step.output(mt.model(clf, uri="models/digits.joblib"))
        step.log_metric("accuracy", 0.97, of=model)
"""

from modeltrail import errors  # noqa: E402
from modeltrail.sdk import (  # noqa: E402
    Artifact,
    ArtifactSpec,
    MissingFileWarning,
    ModelVersion,
    Run,
    Step,
    Trail,
    Trigger,
    artifact,
    autolog,
    connect,
    current_run,
    current_step,
    dataset,
    epochs,
    load_model,
    metrics,
    model,
)
from modeltrail.version import __version__  # noqa: E402

__all__ = [
    "Artifact",
    "ArtifactSpec",
    "MissingFileWarning",
    "ModelVersion",
    "Run",
    "Step",
    "Trail",
    "Trigger",
    "__version__",
    "artifact",
    "autolog",
    "connect",
    "current_run",
    "current_step",
    "dataset",
    "epochs",
    "errors",
    "load_model",
    "metrics",
    "model",
]
