"""The openapi-generator 7.26 Python client, generated from the project's spec at bench time.

It is what a user who ran the generator on the same spec would have. It is built once per spec
version under ``bench/.work/`` (gitignored, never committed) and imported from there.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench._paths import SPEC, WORK

__all__ = ["PACKAGE", "ensure_generated"]

#: The generator's default package name; it must not clash with ``openapiopenai``.
PACKAGE = "openapi_client"
GENERATOR_VERSION = "7.26"


def _generator_command() -> list[str] | None:
    # The PyPI wrapper ships the jar as package data and runs it with the Java on PATH.
    script = Path(sys.executable).with_name("openapi-generator-cli")
    if script.exists():
        return [str(script)]
    found = shutil.which("openapi-generator-cli")
    return [found] if found else None


def ensure_generated() -> tuple[Path | None, str]:
    """Return (folder to put on ``sys.path``, "") or (None, why it is unavailable)."""
    spec_hash = hashlib.sha256(SPEC.read_bytes()).hexdigest()[:12]
    target = WORK / f"generated-{GENERATOR_VERSION}-{spec_hash}"
    if not (target / PACKAGE / "__init__.py").exists():
        command = _generator_command()
        if command is None:
            return None, "n/a: openapi-generator-cli not installed"
        if shutil.which("java") is None:
            return None, "n/a: no java on PATH"
        WORK.mkdir(parents=True, exist_ok=True)
        # Generate into a scratch folder and rename, so an interrupted run never leaves half a client
        # that a later run would take for a finished one.
        scratch = Path(tempfile.mkdtemp(prefix="generating-", dir=WORK))
        proc = subprocess.run(
            [*command, "generate", "-g", "python", "-i", str(SPEC), "-o", str(scratch),
             f"--additional-properties=packageName={PACKAGE}", "--skip-validate-spec"],
            capture_output=True, text=True, timeout=300, check=False,
        )
        if proc.returncode != 0 or not (scratch / PACKAGE / "__init__.py").exists():
            shutil.rmtree(scratch, ignore_errors=True)
            last = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
            return None, f"n/a: generator failed ({last[0][:80]})"
        if target.exists():
            shutil.rmtree(target)
        os.replace(scratch, target)
    return target, ""


def import_generated(folder: Path) -> object:
    """Import the generated package (its own dependencies must be installed: pydantic, urllib3,
    python-dateutil)."""
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    return importlib.import_module(PACKAGE)
