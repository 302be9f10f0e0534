"""Are a change's findings the same? ``audit-logs detect --format json`` of every shipped rule on an archive,
as a digest to compare before and after a change to the detection engine.

    python -m bench.detect_findings bench/.work/detect-1000000-seed7.sqlite --save before.txt
    ... change the engine ...
    python -m bench.detect_findings bench/.work/detect-1000000-seed7.sqlite --check before.txt

It runs on a copy (a run caches its converted rules in the archive), and prints the number of matches
and the sha256 of the JSON; ``--check`` exits 1 when either differs from the saved line.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench._procs import cli


def findings(archive: Path) -> str:
    """``<matches> <sha256>`` of the archive's findings."""
    with tempfile.TemporaryDirectory(prefix="bench-findings-") as work:
        copy = Path(work) / "audit.sqlite"
        shutil.copyfile(archive, copy)
        done = subprocess.run([*cli(), "audit-logs", "detect", "--db", str(copy), "--format", "json"],
                              capture_output=True, timeout=600, check=False)
    if done.returncode != 0:
        raise SystemExit(f"detect failed (exit {done.returncode}): {done.stderr.decode(errors='replace')[-200:]}")
    return f"{len(json.loads(done.stdout))} {hashlib.sha256(done.stdout).hexdigest()}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.detect_findings", description=__doc__.split("\n")[0])
    parser.add_argument("archive", type=Path)
    parser.add_argument("--save", type=Path, help="write the digest line to this file")
    parser.add_argument("--check", type=Path, help="compare with the line saved in this file")
    args = parser.parse_args(argv)
    line = findings(args.archive)
    print(line)
    if args.save:
        args.save.write_text(line + "\n")
    if args.check:
        saved = args.check.read_text().strip()
        if saved != line:
            print(f"differs from {args.check}: {saved}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
