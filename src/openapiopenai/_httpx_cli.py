"""Keep httpx's own command line out of our start-up.

``httpx/__init__`` runs ``from ._main import main`` (the ``httpx`` console command) and that module
imports click, rich and pygments at its top whenever they are installed, which they are, because our
CLI depends on click and rich. Every script that imports this library would pay about 100 ms for a
command line it never runs (a third of the start-up budget). Before httpx is first imported we put a
stand-in for ``httpx._main`` in ``sys.modules`` whose ``main()`` loads the real one on demand, so
``httpx.main`` keeps working and nothing else about httpx changes.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

__all__ = ["defer_httpx_cli"]

_NAME = "httpx._main"


def _main(*args: Any, **kwargs: Any) -> Any:
    # The real command line, loaded only when someone runs it.
    if getattr(sys.modules.get(_NAME), "_openapiopenai_stand_in", False):
        del sys.modules[_NAME]
    real = importlib.import_module(_NAME)
    return real.main(*args, **kwargs)


def defer_httpx_cli() -> None:
    """Install the stand-in, unless httpx (or its CLI) is already imported: then there is nothing to save."""
    if "httpx" in sys.modules or _NAME in sys.modules:
        return
    stand_in = types.ModuleType(_NAME, "Stand-in for httpx's command line; see openapiopenai._httpx_cli.")
    stand_in.main = _main  # type: ignore[attr-defined]
    stand_in._openapiopenai_stand_in = True  # type: ignore[attr-defined]
    sys.modules[_NAME] = stand_in
