"""Step 3 of the handwriting pipeline: put the trained model where ``serve.py`` serves it.

    python deploy.py --endpoint http://127.0.0.1:8765/predict

Records a ``deployment`` artifact that references the model it serves.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import joblib

import modeltrail as mt

MODEL = Path("models/handwriting.joblib")
SERVING = Path("serving/model.joblib")
KIND = Path(__file__).resolve().parents[1] / "kinds" / "deployment.json"
# The deployment kind as this example needs it, registered if nobody registered one yet.
DEPLOYMENT_KIND = {
    "name": "deployment",
    "description": "A model put into service.",
    "schema": {
        "type": "object",
        "properties": {
            "model": {"type": "string", "format": "uuid", "x-artifact-reference": True},
            "endpoint": {"type": "string"},
            "environment": {"type": "string"},
        },
        "required": ["model"],
    },
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", default="http://127.0.0.1:8765/predict")
    parser.add_argument("--environment", default="staging")
    args = parser.parse_args(argv)

    trail = mt.connect()
    kind = json.loads(KIND.read_text()) if KIND.exists() else DEPLOYMENT_KIND
    trail.register_kind(kind["name"], kind["schema"], kind.get("description", ""))
    with (
        trail.run(experiment="handwriting", pipeline="handwriting") as run,
        run.step("deploy", kind="deploy", config={"environment": args.environment}) as step,
    ):
        clf = joblib.load(MODEL)  # refuse to deploy what does not load
        model = step.input(mt.model(clf, uri=MODEL, name="handwriting-mlp"))
        SERVING.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(MODEL, SERVING.with_suffix(".tmp"))
        SERVING.with_suffix(".tmp").replace(SERVING)
        deployment = step.output(
            mt.artifact(
                "deployment",
                "handwriting-service",
                uri=args.endpoint,
                model=model.id,
                endpoint=args.endpoint,
                environment=args.environment,
            )
        )
    print(f"deployed model {model.id} as {deployment.id} at {args.endpoint}")


if __name__ == "__main__":
    main()
