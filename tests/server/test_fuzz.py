"""Property-based fuzzing of the served OpenAPI document with schemathesis.

A real server, on SQLite and on PostgreSQL, open (no access control) and with access control
on, driven with a writer token. Every answer must be documented by the schema and never a
5xx; every error must be a problem; and the strategies are taught (``fuzz_hooks.py``) to send
lone surrogates in strings and keys, which must be refused with 422 naming the field, and
bodies without a Content-Type, which must be refused with 415. With access control on, every
guarded operation must also refuse a request without a valid token (``ignored_auth``).

The runs with a token also go through the coverage phase (every operation's boundary values
and each way to break its schema, some 8,000 requests); the open runs only draw cases
(``MODELTRAIL_FUZZ_EXAMPLES`` per operation, 30 by default), so that the four runs fit in
about two minutes. The seed is ``MODELTRAIL_FUZZ_SEED``, or random and printed.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from conftest import ServerProcess, cli_env

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
EXAMPLES = int(os.environ.get("MODELTRAIL_FUZZ_EXAMPLES", "30"))
ADMIN = "admin-" + uuid.uuid4().hex + uuid.uuid4().hex
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
    # fuzz_hooks.py
    "errors_are_problems",
    "bodies_without_content_type_are_415",
    "lone_surrogates_are_422_with_a_pointer",
]
# Fewer cases than this in a run means it did not really fuzz (operations skipped, a server
# that answered nothing): it fails rather than passing on nothing.
MIN_CASES = EXAMPLES * 40


def _writer_token(server: ServerProcess) -> str:
    created = httpx.post(
        f"{server.url}/api/v1/tokens",
        json={"name": "fuzz", "role": "writer"},
        headers={"Authorization": f"Bearer {ADMIN}"},
        timeout=30,
    )
    assert created.status_code == 201, created.text
    return str(created.json()["token"])


@pytest.mark.slow
@pytest.mark.skipif(
    not (SCHEMATHESIS.exists() or shutil.which("schemathesis")),
    reason="schemathesis is not installed (pip install -e '.[test]')",
)
@pytest.mark.parametrize("access", ["open", "writer"])
def test_schemathesis_finds_no_server_errors_or_schema_violations(
    empty_database_url: str, access: str, tmp_path: Path
) -> None:
    seed = int(os.environ.get("MODELTRAIL_FUZZ_SEED", random.randrange(1 << 32)))
    print(f"MODELTRAIL_FUZZ_SEED={seed}")
    checks = list(CHECKS)
    extra: list[str] = []
    phases = "fuzzing,stateful"
    if access == "writer":
        phases = "coverage,fuzzing,stateful"
        examples = max(EXAMPLES // 2, 1)
        server = ServerProcess(empty_database_url, "--auth", "--admin-token", ADMIN, cwd=tmp_path)
        extra = ["--header", f"Authorization: Bearer {_writer_token(server)}"]
        checks.append("ignored_auth")
    else:
        server = ServerProcess(empty_database_url, cwd=tmp_path)
        examples = EXAMPLES
    stats = tmp_path / "fuzz-stats.json"
    env = cli_env(
        SCHEMATHESIS_HOOKS="fuzz_hooks",
        MODELTRAIL_FUZZ_STATS=str(stats),
        PYTHONPATH=str(Path(__file__).parent) + os.pathsep + cli_env()["PYTHONPATH"],
    )
    try:
        result = subprocess.run(
            [
                str(SCHEMATHESIS) if SCHEMATHESIS.exists() else "schemathesis",
                "run",
                f"{server.url}/openapi.json",
                "--checks",
                ",".join(checks),
                "--phases",
                phases,
                "--max-examples",
                str(examples),
                "--workers",
                "1",
                "--seed",
                str(seed),
                "--request-timeout",
                "30",
                "--max-failures",
                "50",
                "--no-color",
                *extra,
            ],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
    finally:
        server.stop()
    out = result.stdout
    # The failures are listed first, the summary last: keep both ends of a long output.
    shown = out if len(out) <= 24000 else f"{out[:16000]}\n[...]\n{out[-8000:]}"
    report = f"{shown}\n{result.stderr[-2000:]}\n--- server log ---\n"
    report += server.log.read_text()[-3000:]
    assert result.returncode == 0, report
    generated = re.search(r"(\d+) generated", out)
    assert generated and int(generated.group(1)) >= MIN_CASES, report
    # The taught strategies reached the server, and their checks looked at the answers.
    sent = json.loads(stats.read_text())
    assert sent["lone_surrogates_are_422_with_a_pointer"] >= 20, sent
    assert sent["bodies_without_content_type_are_415"] >= 20, sent
    assert sent["errors_are_problems"] >= 200, sent
