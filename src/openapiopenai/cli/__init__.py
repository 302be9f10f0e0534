"""The ``openapiopenai`` command line: a thin shell over the client, the archive and the emulator.

Only click is imported here; rich, pyarrow, the emulator and the library's heavier parts are imported
by the commands that use them, so ``openapiopenai --help`` stays fast.
"""

from ._app import cli, main

__all__ = ["cli", "main"]
