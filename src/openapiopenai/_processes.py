"""Whether this process may start worker processes (``spawn``): only when its entry point says so.

A ``spawn`` worker imports the parent's ``__main__`` module again, so a library caller's script without the
``if __name__ == "__main__":`` guard would have its top-level code run once more in every worker (a second
sync, a second report) before the pool breaks. The console script's entry point is guarded, so
`openapiopenai.cli.main` allows it; a library caller opts in per call instead. (Nothing starts workers
since the detections' field table, their one user, was retired: `rules._source`.)
"""

from __future__ import annotations

__all__ = ["allow", "allowed"]

_allowed = False


def allow() -> None:
    """Say that this process's ``__main__`` is safe to import again (called by the CLI's entry point)."""
    global _allowed
    _allowed = True


def allowed() -> bool:
    return _allowed
