"""The predict endpoint: serves whatever model ``deploy.py`` put in ``serving/``.

    python serve.py --port 8765
    curl -X POST localhost:8765/predict -d '{"pixels": [[0, 0, 5, 13, ...64 values 0-16...]]}'

Answers ``{"classes": [...]}``. The model file is reloaded when a deployment replaces it.
"""

from __future__ import annotations

import argparse
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import joblib
import numpy as np

SERVING = Path("serving/model.joblib")


class Model:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.mtime = 0.0
        self.clf: Any = None

    def predict(self, pixels: list[list[float]]) -> list[int]:
        mtime = self.path.stat().st_mtime
        if self.clf is None or mtime != self.mtime:
            self.clf, self.mtime = joblib.load(self.path), mtime
        x = np.asarray(pixels, dtype=np.float32).reshape(len(pixels), -1) / 16.0
        return [int(c) for c in self.clf.predict(x)]


def handler(model: Model) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # health
            self._answer(200, {"status": "ok", "model": str(model.path)})

        def do_POST(self) -> None:
            if self.path != "/predict":
                self._answer(404, {"detail": "POST /predict"})
                return
            try:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                self._answer(200, {"classes": model.predict(body["pixels"])})
            except (ValueError, KeyError, TypeError) as exc:
                self._answer(400, {"detail": str(exc)})

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args(argv)
    server = ThreadingHTTPServer((args.host, args.port), handler(Model(SERVING)))
    print(f"serving {SERVING} on http://{args.host}:{args.port}/predict", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
