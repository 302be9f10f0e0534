"""The network sinks load their client libraries only when used: constructing one imports nothing heavy,
and the other sinks never load elasticsearch or opensearch-py."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("elasticsearch", "elastic_transport", "opensearchpy", "urllib3")


def loaded_after(code: str) -> list[str]:
    program = (f"import json, sys\n{code}\n"
               f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))")
    out = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=True)
    loaded: list[str] = json.loads(out.stdout)
    return loaded


def test_constructing_network_sinks_loads_no_client_library() -> None:
    assert loaded_after(
        "from openapiopenai.sinks import open_sink\n"
        "open_sink('elasticsearch+https://u:p@127.0.0.1:9200')\n"
        "open_sink('opensearch+https://u:p@127.0.0.1:9200')\n"
        "open_sink('splunk-hec+https://127.0.0.1:8088?token=t')\n"
        "open_sink('syslog+tls://127.0.0.1:6514')\n"
        "open_sink('https://127.0.0.1/hook')") == []


def test_opening_elasticsearch_loads_its_client_and_not_opensearch() -> None:
    loaded = loaded_after(
        "from openapiopenai.sinks import open_sink, SinkUnavailable\n"
        "s = open_sink('elasticsearch+http://u:p@127.0.0.1:9')\n"
        "try:\n    s.open()\nexcept SinkUnavailable:\n    pass")
    assert "elasticsearch" in loaded and "opensearchpy" not in loaded
