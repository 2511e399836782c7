"""Step 1 of the handwriting pipeline: fetch a dataset and prepare it for training.

    python prepare.py --dataset digits   # MNIST-like digits bundled with scikit-learn, 10 classes
    python prepare.py --dataset letters  # EMNIST-like letters drawn here with Pillow, 26 classes

The raw data lands in ``data/raw/<dataset>/`` (its "download location"), the prepared data
always in ``data/prepared/``, where ``train.py`` picks it up. That fixed hand-over is exactly how
the thesis's bug happens: train does not know which dataset it got.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import numpy as np

import modeltrail as mt

DATASETS = {
    "digits": {"name": "mnist-digits", "classes": 10},
    "letters": {"name": "emnist-letters", "classes": 26},
}
PREPARED = Path("data/prepared")


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits as sklearn_digits

    digits = sklearn_digits()
    return digits.data.astype(np.float32), digits.target.astype(np.int64)


def make_letters(per_class: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Capital letters in Pillow's built-in font, jittered and noised, as 8x8 images with pixel
    values 0-16 like the digits. Labels 1-26 (a=1), as in EMNIST letters."""
    from PIL import Image, ImageDraw, ImageFont

    rng = np.random.default_rng(seed)
    font = ImageFont.load_default()
    images, labels = [], []
    for index in range(26):
        letter = chr(ord("A") + index)
        canvas = Image.new("L", (32, 32), 0)
        ImageDraw.Draw(canvas).text((8, 6), letter, fill=255, font=font)
        box = canvas.getbbox() or (0, 0, 32, 32)
        glyph = canvas.crop(box)
        for _ in range(per_class):
            angle = rng.uniform(-12, 12)
            pad = int(rng.integers(1, 4))
            framed = Image.new("L", (glyph.width + 2 * pad, glyph.height + 2 * pad), 0)
            framed.paste(glyph, (pad + int(rng.integers(-1, 2)), pad + int(rng.integers(-1, 2))))
            small = framed.rotate(angle, resample=Image.BILINEAR).resize((8, 8), Image.BILINEAR)
            pixels = np.asarray(small, dtype=np.float32) / 255.0 * 16.0
            pixels = np.clip(pixels + rng.normal(0, 0.8, pixels.shape), 0, 16)
            images.append(pixels.reshape(-1))
            labels.append(index + 1)
    return np.stack(images).astype(np.float32), np.asarray(labels, dtype=np.int64)


def fetch(dataset: str, per_class: int) -> Path:
    """Materialise the raw dataset at its storage location (the thesis's "download link")."""
    raw = Path("data/raw") / DATASETS[dataset]["name"]
    x, y = load_digits() if dataset == "digits" else make_letters(per_class)
    raw.mkdir(parents=True, exist_ok=True)
    np.save(raw / "images.npy", x)
    np.save(raw / "labels.npy", y)
    return raw


def prepare(raw: Path, test_fraction: float, seed: int) -> None:
    x = np.load(raw / "images.npy") / 16.0
    y = np.load(raw / "labels.npy")
    order = np.random.default_rng(seed).permutation(len(y))
    cut = int(len(y) * (1 - test_fraction))
    if PREPARED.exists():
        shutil.rmtree(PREPARED)
    PREPARED.mkdir(parents=True)
    for part, idx in (("train", order[:cut]), ("test", order[cut:])):
        np.save(PREPARED / f"x_{part}.npy", x[idx].astype(np.float32))
        np.save(PREPARED / f"y_{part}.npy", y[idx])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=sorted(DATASETS), default="digits")
    parser.add_argument("--samples-per-class", type=int, default=120, help="letters only")
    parser.add_argument("--test-fraction", type=float, default=0.25)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    info = DATASETS[args.dataset]

    trail = mt.connect()
    with trail.run(experiment="handwriting", pipeline="handwriting") as run:
        config = {"dataset": args.dataset, "test-fraction": args.test_fraction, "seed": args.seed}
        with run.step("prepare", kind="prepare", config=config) as step:
            raw = fetch(args.dataset, args.samples_per_class)
            step.input(mt.dataset(raw, name=info["name"], classes=info["classes"]))
            prepare(raw, args.test_fraction, args.seed)
            prepared = step.output(
                mt.dataset(
                    PREPARED,
                    name="handwriting-prepared",
                    classes=info["classes"],
                    source=info["name"],
                )
            )
    print(f"prepared {info['name']} ({info['classes']} classes) as artifact {prepared.id}")


if __name__ == "__main__":
    main()
