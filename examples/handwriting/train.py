"""Step 2 of the handwriting pipeline: train a classifier on whatever ``data/prepared`` holds.

python train.py --learning-rate 0.01
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import joblib
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

import modeltrail as mt

PREPARED = Path("data/prepared")
MODEL = Path("models/handwriting.joblib")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learning-rate", type=float, default=0.01)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    config = {
        "learning-rate": args.learning_rate,
        "hidden": args.hidden,
        "epochs": args.epochs,
        "seed": args.seed,
    }

    trail = mt.connect()
    with (
        trail.run(experiment="handwriting", pipeline="handwriting") as run,
        run.step("train", kind="train", config=config) as step,
    ):
        step.input(mt.dataset(PREPARED, name="handwriting-prepared"))
        x_train, y_train = np.load(PREPARED / "x_train.npy"), np.load(PREPARED / "y_train.npy")
        x_test, y_test = np.load(PREPARED / "x_test.npy"), np.load(PREPARED / "y_test.npy")
        clf = MLPClassifier(
            hidden_layer_sizes=(args.hidden,),
            learning_rate_init=args.learning_rate,
            max_iter=args.epochs,
            random_state=args.seed,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(x_train, y_train)
        accuracy = float(clf.score(x_test, y_test))
        MODEL.parent.mkdir(parents=True, exist_ok=True)
        joblib.dump(clf, MODEL)
        model = step.output(
            mt.model(
                clf,
                uri=MODEL,
                name="handwriting-mlp",
                sample=x_train,
                hyperparameters={"learning-rate": args.learning_rate},
            )
        )
        step.log_metric("accuracy", accuracy, of=model)
    print(f"trained model {model.id}: accuracy {accuracy:.3f} on {len(clf.classes_)} classes")


if __name__ == "__main__":
    main()
