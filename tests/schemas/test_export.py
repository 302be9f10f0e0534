"""The export's fast mapping writes the very documents `to_ocsf`/`to_ecs` build from the decoded event."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from _event_shapes import EVENTS, odd_events
from openapiopenai.ecs import to_ecs
from openapiopenai.ocsf import to_ocsf
from openapiopenai.schemas._export import mapped_json

MAPPINGS = {"ocsf": to_ocsf, "ecs": to_ecs}


@pytest.mark.parametrize("schema", ["ocsf", "ecs"])
def test_the_fast_path_writes_what_the_mapping_builds(schema: str) -> None:
    raws = [json.dumps(e, indent=1) for e in EVENTS]   # newlines in the text: the output is one line each
    lines = list(mapped_json(raws, schema))
    assert len(lines) == len(EVENTS) and all("\n" not in line for line in lines)
    assert [json.loads(line) for line in lines] == [MAPPINGS[schema](e) for e in EVENTS]


def test_raw_passes_through_and_bad_input_is_a_value_error() -> None:
    assert list(mapped_json(['{"a":  1}'], "raw")) == ['{"a":  1}']
    with pytest.raises(ValueError, match="unknown schema"):
        list(mapped_json(["{}"], "splunk"))
    with pytest.raises(ValueError, match="not a JSON event"):
        list(mapped_json(["[1]"], "ocsf"))
    with pytest.raises(ValueError, match="not a JSON event"):
        list(mapped_json(["{"], "ecs"))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(odd_events())
def test_any_event_maps_the_same_both_ways(event: dict[str, Any]) -> None:
    raw = json.dumps(event)
    for schema, mapping in MAPPINGS.items():
        [line] = mapped_json([raw], schema)
        assert json.loads(line) == mapping(json.loads(raw))



@pytest.mark.parametrize("schema", ["ocsf", "ecs"])
def test_without_the_kept_parts_the_lines_are_the_same(schema: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The actors and projects read and encoded once are only a shortcut: with none kept, the same lines."""
    from openapiopenai import anatomy
    from openapiopenai.schemas import _ecs, _ocsf

    raws = [json.dumps(e) for e in EVENTS]
    kept = list(mapped_json(raws, schema))
    caches = [(anatomy, "_actors"), (anatomy, "_projects"), (_ocsf, "_actor_parts"), (_ocsf, "_sign_in_actor_parts"),
              (_ocsf, "_project_parts"),
              (_ecs, "_actor_parts"), (_ecs, "_project_parts")]
    assert all(getattr(module, name) for module, name in caches)
    for module in (anatomy, _ocsf, _ecs):
        monkeypatch.setattr(module, "_MAX_CACHED", 0)
    for module, name in caches:
        monkeypatch.setattr(module, name, {})
    assert list(mapped_json(raws, schema)) == kept
    assert not any(getattr(module, name) for module, name in caches)
