"""Where each key of a TOML file is written: ``("org", 1, "interval") -> 14``.

``tomllib`` parses without positions, and ``tomlkit`` keeps the text for round trips but records no
line numbers either; a problem in a config file is only useful with its line, so this reads the
lines once more. It follows the only structure a config needs: ``[table]`` and ``[[array]]`` headers
(dotted, the array's index counted as headers repeat) and ``key = value`` lines, skipping the insides
of multi-line strings and arrays. It runs only on a file ``tomllib`` accepted, so it never judges the
syntax; a key it cannot place (an inline table's insides) falls back to its table's line.
"""

from __future__ import annotations

import re

__all__ = ["KeyPath", "key_lines", "line_of"]

KeyPath = tuple[str | int, ...]

_BARE = r"[A-Za-z0-9_-]+"
_QUOTED = r'"(?:[^"\\]|\\.)*"|\'[^\']*\''
_PART = rf"\s*(?:{_BARE}|{_QUOTED})\s*"
_DOTTED = rf"{_PART}(?:\.{_PART})*"
_HEADER = re.compile(rf"^\s*(\[\[?)({_DOTTED})\]\]?\s*(?:#.*)?$")
_KEY = re.compile(rf"^\s*({_DOTTED})=")


def _parts(dotted: str) -> list[str]:
    parts = re.findall(rf"{_BARE}|{_QUOTED}", dotted)
    return [p[1:-1] if p[:1] in "\"'" else p for p in parts]


def key_lines(text: str) -> dict[KeyPath, int]:
    """Every table, array element and key of ``text`` with its line (1-based)."""
    lines: dict[KeyPath, int] = {}
    counts: dict[tuple[str, ...], int] = {}
    # The path of each array of tables as it stands (its current element), for nested headers.
    current: dict[tuple[str, ...], int] = {}
    table: KeyPath = ()
    open_string: str | None = None
    depth = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if open_string is not None:
            if line.count(open_string) % 2 == 1:
                open_string = None
            continue
        if depth > 0:
            depth += _bracket_balance(line)
            continue
        header = _HEADER.match(line)
        if header:
            names = _parts(header.group(2))
            table = _resolve(names, current)
            if header.group(1) == "[[":
                key = tuple(names)
                index = counts.get(key, 0)
                counts[key] = index + 1
                current[key] = index
                table = (*table, index)
                # A new element of an array starts its sub-tables afresh.
                for other in [k for k in current if len(k) > len(key) and k[: len(key)] == key]:
                    del current[other]
                    counts.pop(other, None)
            lines.setdefault(table, number)
            continue
        key_match = _KEY.match(line)
        if key_match:
            lines.setdefault((*table, *_parts(key_match.group(1))), number)
            value = line[key_match.end():]
            for quote in ('"""', "'''"):
                if value.count(quote) % 2 == 1:
                    open_string = quote
            depth = max(0, _bracket_balance(value))
    return lines


def _resolve(names: list[str], current: dict[tuple[str, ...], int]) -> KeyPath:
    """``org.detect`` under the current ``[[org]]`` element is ``("org", 2, "detect")``."""
    path: list[str | int] = []
    for i, name in enumerate(names):
        path.append(name)
        prefix = tuple(names[: i + 1])
        if prefix in current and i < len(names) - 1:
            path.append(current[prefix])
    return tuple(path)


def _bracket_balance(text: str) -> int:
    # Brackets inside quoted strings and comments do not count.
    stripped = re.sub(_QUOTED, "", text).split("#", 1)[0]
    return stripped.count("[") - stripped.count("]")


def line_of(lines: dict[KeyPath, int], path: KeyPath) -> int:
    """The line of ``path``, else of the nearest enclosing table written in the file, else 1."""
    for end in range(len(path), 0, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return 1
