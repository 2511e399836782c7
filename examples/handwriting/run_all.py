"""The thesis's case study (Chapter 8, Scenario 4.1) end to end, as two runs of one pipeline.

    python run_all.py                  # store: MODELTRAIL_URL, else ./modeltrail.db
    python run_all.py --fast           # small settings (what the tests run)

Run 1: digits (MNIST-like), learning rate 0.01, started by hand. Run 2: the dataset parameter
switched to letters (EMNIST-like, 26 classes), announced as a data change, and the learning
rate changed too. Then the served model is asked about a picture of a digit: it answers with
letter classes, numbers above nine. ``modeltrail why`` on that model names the dataset change.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import modeltrail as mt

HERE = Path(__file__).resolve().parent


def step(script: str, *args: str, env: dict[str, str]) -> None:
    subprocess.run([sys.executable, str(HERE / script), *args], env=env, check=True)


def pipeline(
    trail: mt.Trail,
    *,
    dataset: str,
    learning_rate: float,
    trigger: mt.Trigger,
    fast: bool,
    endpoint: str,
) -> str:
    config = {"dataset": dataset, "learning-rate": learning_rate}
    with trail.run(
        experiment="handwriting", pipeline="handwriting", trigger=trigger, config=config
    ) as run:
        env = {**os.environ, **run.env()}
        small = ["--samples-per-class", "40"] if fast else []
        step("prepare.py", "--dataset", dataset, *small, env=env)
        step(
            "train.py",
            "--learning-rate",
            str(learning_rate),
            *(["--epochs", "60"] if fast else []),
            env=env,
        )
        step("deploy.py", "--endpoint", endpoint, env=env)
    return run.id


def ask(endpoint: str, pixels: list[list[float]], timeout: float = 20) -> list[int]:
    request = urllib.request.Request(
        endpoint,
        data=json.dumps({"pixels": pixels}).encode(),
        headers={"Content-Type": "application/json"},
    )
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:
                return list(json.loads(answer.read())["classes"])
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="small datasets and few epochs")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args(argv)
    endpoint = f"http://127.0.0.1:{args.port}/predict"

    trail = mt.connect()
    first = pipeline(
        trail,
        dataset="digits",
        learning_rate=0.01,
        trigger=mt.Trigger.manual(),
        fast=args.fast,
        endpoint=endpoint,
    )
    letters = str((Path("data/raw") / "emnist-letters").resolve())
    second = pipeline(
        trail,
        dataset="letters",
        learning_rate=0.005,
        fast=args.fast,
        endpoint=endpoint,
        trigger=mt.Trigger.data_change(
            letters, dataset="emnist-letters", detail="dataset parameter switched to letters"
        ),
    )
    print(f"run 1 (digits): {first}\nrun 2 (letters): {second}")

    from sklearn.datasets import load_digits

    digits = load_digits()
    server = subprocess.Popen([sys.executable, str(HERE / "serve.py"), "--port", str(args.port)])
    try:
        answers = ask(endpoint, digits.data[:10].tolist())
    finally:
        server.terminate()
        server.wait(10)
    print(f"digits 0-9 sent to the deployed model; it answers {answers}")
    if any(a > 9 for a in answers):
        print("classes above nine: ask modeltrail why (modeltrail why handwriting-mlp)")


if __name__ == "__main__":
    main()
