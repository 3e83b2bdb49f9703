"""The changed leaves a plan shows for an update or a replace are DeepDiff's, also when the planner finds them
without DeepDiff (records of the same shape whose scalars changed): generated pairs of records compared both
ways."""

from __future__ import annotations

import copy
from enum import StrEnum
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mgc_iac.plan.planner import _changed_leaves, _deepdiff_leaves


class _Os(StrEnum):
    LINUX = "linux"


SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.floats(allow_nan=True, width=16),
                    st.sampled_from(["", "a", "linux", _Os.LINUX, "it's", "x.y", "[0]", "__p", "é", "a\nb"]))
KEYS = st.sampled_from(["name", "flavor", "tags", "owner", "x.y", "", "__private", "it's", "a[0]", "é", 1])
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(KEYS, inner, max_size=3)), max_leaves=8)
RECORDS = st.dictionaries(KEYS, VALUES, min_size=1, max_size=5)


def _mutate(record: dict[Any, Any], draw: Any) -> dict[Any, Any]:
    """A copy of `record` with a few leaves changed (the same shape: the planner's usual case)."""
    out = copy.deepcopy(record)
    for _ in range(draw(st.integers(1, 3))):
        node: Any = out
        while True:
            if isinstance(node, dict) and node:
                key = draw(st.sampled_from(sorted(node, key=repr)))
                if isinstance(node[key], (dict, list)) and draw(st.booleans()):
                    node = node[key]
                    continue
                node[key] = draw(VALUES)
            elif isinstance(node, list) and node:
                index = draw(st.integers(0, len(node) - 1))
                if isinstance(node[index], (dict, list)) and draw(st.booleans()):
                    node = node[index]
                    continue
                node[index] = draw(VALUES)
            break
    return out


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_changed_leaves_are_deepdiffs(data: st.DataObject) -> None:
    before = data.draw(RECORDS)
    after = _mutate(before, data.draw) if data.draw(st.booleans()) else data.draw(RECORDS)
    assert _changed_leaves(before, after) == _deepdiff_leaves(before, after)


def test_same_shape_changes_cover_types_values_and_nesting() -> None:
    before = {"name": "a", "flavor": "s6.large.2", "eip": True, "tags": {"owner": "x", "wave": "w1"},
              "disks": [{"device": "/dev/vda", "size_gb": 40}], "port": 1, "zone": None}
    after = {**before, "flavor": "s6.xlarge.2", "eip": 1, "tags": {"owner": "y", "wave": "w1"}, "zone": {"a": 1}}
    assert _changed_leaves(before, after) == ("eip", "flavor", "tags.owner", "zone") == _deepdiff_leaves(before, after)
    grown = {**before, "disks": [{"device": "/dev/vda", "size_gb": 40}, {"device": "/dev/vdb", "size_gb": 9}]}
    assert _changed_leaves(before, grown) == ("disks[1]",) == _deepdiff_leaves(before, grown)
