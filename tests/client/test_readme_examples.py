"""The README's Python examples, taken from the README text and run as written against the emulator
over real HTTP: "the seed example, working" and "the library in more depth" (whose None checks
mypy --strict must see)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import openapiopenai

README = Path(__file__).resolve().parents[2] / "README.md"
KEY = "sk-admin-README-0123456789"


def readme_block(heading: str) -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split(f"## {heading}\n", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, f"no python block under {heading!r}"
    return match.group(1)


def _env(base_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    return {**env, "OPENAI_BASE_URL": base_url, "OPENAI_ADMIN_KEY": KEY}


def test_the_seed_example_runs_as_written(make_emulator, tmp_path: Path) -> None:
    emu = make_emulator(events=3000, seed=5, admin_key=KEY)
    script = tmp_path / "seed.py"
    script.write_text(readme_block("The seed example, working"))
    proc = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env=_env(emu.base_url), timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert "Exception when calling" not in proc.stdout, proc.stdout
    expected = [e["id"] for e in emu.store.all_events(event_types=["login.failed"])][:20]
    assert len(expected) == 20
    shown = re.findall(r"id='(audit_log-[^']+)'", proc.stdout)
    assert shown[:20] == expected, proc.stdout[:2000]
    assert KEY not in proc.stdout


def test_the_snippet_runs_as_written(make_emulator, tmp_path: Path) -> None:
    emu = make_emulator(events=3000, seed=5, admin_key=KEY)
    script = tmp_path / "snippet.py"
    script.write_text(readme_block("The library in more depth"))
    proc = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env=_env(emu.base_url), timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    config = openapiopenai.Configuration(host=emu.base_url, access_token=KEY)
    with openapiopenai.ApiClient(config) as client:
        expected = list(
            openapiopenai.AuditLogsApi(client).iter_audit_logs(
                event_types=["api_key.created"], effective_at={"gte": 1767225600}
            )
        )
    assert len(lines) == len(expected) > 0
    assert [line.split()[0] for line in lines] == [e.id for e in expected]
    # The organisation has both shapes, so the snippet's handling of absent parts was exercised.
    assert any(e.actor is not None and e.actor.session is None for e in expected)
    assert any(line.endswith(" None") for line in lines) and any(not line.endswith(" None") for line in lines)


def test_configuration_reads_openai_base_url(monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:8787/v1/")
    assert openapiopenai.Configuration().host == "http://127.0.0.1:8787/v1"
    assert openapiopenai.Configuration(host="https://example.test/v1").host == "https://example.test/v1"
    monkeypatch.setenv("OPENAI_BASE_URL", "")
    assert openapiopenai.Configuration().host == "https://api.openai.com/v1"


@pytest.mark.slow
def test_mypy_sees_the_nones(tmp_path: Path) -> None:
    """The snippet passes mypy --strict, and the same lines without the None checks do not."""
    snippet = readme_block("The library in more depth")
    careless = snippet.replace(
        "scopes = payload.data.scopes if payload is not None and payload.data is not None else None",
        "scopes = event.payload.data.scopes",
    ).replace("ja3 = session.ja3 if session is not None else None", "ja3 = event.actor.session.ja3")
    assert careless != snippet
    (tmp_path / "good.py").write_text(snippet)
    (tmp_path / "careless.py").write_text(careless)

    def mypy(name: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--no-error-summary", name],
            capture_output=True, text=True, cwd=tmp_path, timeout=300,
        )

    good = mypy("good.py")
    assert good.returncode == 0, good.stdout
    careless_run = mypy("careless.py")
    assert careless_run.returncode == 1
    assert careless_run.stdout.count("[union-attr]") >= 3, careless_run.stdout
