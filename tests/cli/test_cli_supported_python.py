"""The project claims only the Python that CI runs: the machine's python3, 3.11.

Raise every number here together, and only when CI runs the older or newer version too.
"""

from __future__ import annotations

import importlib.metadata
import sys
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
CI_RUNS = (3, 11)


def test_every_claim_names_the_version_ci_runs() -> None:
    config = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))
    assert config["project"]["requires-python"] == ">={}.{}".format(*CI_RUNS)
    assert config["tool"]["mypy"]["python_version"] == "{}.{}".format(*CI_RUNS)
    assert config["tool"]["ruff"]["target-version"] == "py{}{}".format(*CI_RUNS)
    assert "Programming Language :: Python :: {}.{}".format(*CI_RUNS) in config["project"]["classifiers"]
    # What pip was told when this environment installed the package.
    assert importlib.metadata.metadata("openapiopenai")["Requires-Python"] == ">={}.{}".format(*CI_RUNS)
    assert sys.version_info[:2] >= CI_RUNS


def test_basic_iso_dates_parse_on_the_claimed_version(run_offline) -> None:
    # `20261101` needs 3.11's fromisoformat; 3.10 would call it "not a time" (exit 2).
    result = run_offline("audit-logs", "list", "--since", "20261101", "--max-retries", "0")
    assert result.exit_code == 1 and "cannot reach" in result.stderr
