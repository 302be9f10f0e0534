"""Convert the shipped Sigma rules once, at build time, into ``src/openapiopenai/rules/generated/shipped.json``.

    python scripts/compile_rules.py            # regenerate in place (make codegen)
    python scripts/compile_rules.py --check    # exit 1 if the committed file differs from a fresh run

``audit-logs detect`` (and the report) use that file instead of converting the rules with pySigma when
the rule set is exactly the shipped rules, with no placeholder set, and the installed package and pySigma
versions are the ones it was made with (see ``openapiopenai.rules._cache``). Its keys name those versions,
so run this again after upgrading pySigma or changing a rule or the engine's conversion.
"""

from __future__ import annotations

import argparse
import difflib
import sys

from openapiopenai.rules import compile_rules, load_rules
from openapiopenai.rules._cache import GENERATED, shipped_json


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="fail if the committed file is out of date")
    args = ap.parse_args()
    text = shipped_json(compile_rules(load_rules(), level="informational"))
    if args.check:
        current = GENERATED.read_text(encoding="utf-8") if GENERATED.exists() else ""
        if current != text:
            sys.stdout.writelines(list(difflib.unified_diff(current.splitlines(True), text.splitlines(True),
                                                            str(GENERATED), "fresh run", n=1))[:60])
            print(f"{GENERATED} is out of date: run `make codegen`", file=sys.stderr)
            return 1
        return 0
    GENERATED.parent.mkdir(parents=True, exist_ok=True)
    GENERATED.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
