"""Side-by-side benchmarks: this project, the openapi-generator 7.26 client, the official ``openai`` SDK
and the floor (bare ``httpx`` + ``orjson``), measured on the same work in the same run.

Run ``python -m bench`` (full, < 15 minutes on a 2-core machine; writes ``docs/benchmarks.md``) or
``python -m bench --quick`` (seconds, small sizes; what the test suite runs so the harness cannot rot).
Everything it needs (the generated client, the emulator databases) is built under ``bench/.work/``.
"""
