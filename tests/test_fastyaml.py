"""The fast stack loader reads every document exactly as PyYAML's safe loader does."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mgc_iac.stack.fastyaml import SafeLoader, load_yaml

DEMO = Path(__file__).resolve().parents[1] / "stacks" / "demo"
DOCS = {
    "scalars": "a: yes\nb: on\nc: 0x1f\nd: 1_000\ne: .inf\nf: ~\ng: '12'\nh: 2026-11-25\ni: 1:20\nj: 0o17\nk: -.5\n",
    "nested": "sources:\n  - name: web-01\n    disks: [{device: /dev/vda, size_gb: 40}]\n    tags: {}\n  - []\n",
    "anchors": "base: &b {region: cn-north-4, tags: [a]}\none: *b\ntwo: *b\n",
    "scalar alias": "x: &n 5\ny: *n\n",
    "merge": "base: &b {region: cn-north-4}\nwf:\n  <<: *b\n  vpc: vpc-1\n",
    "tags": "blob: !!binary aGVsbG8=\nwhen: !!timestamp 2026-11-25T10:00:00Z\nset: !!set {a, b}\ns: !!str 12\n",
    "keys": "1: one\ntrue: yes\nnull: nothing\n2.5: half\n",
    "empty": "",
    "explicit document": "%YAML 1.1\n---\n- 1\n- two\n...\n",
    "block scalars": "a: |\n  line 1\n  line 2\nb: >\n  folded\n  text\n",
}


@pytest.mark.parametrize("name", sorted(DOCS))
def test_same_result_as_pyyaml(name: str) -> None:
    assert load_yaml(DOCS[name]) == yaml.load(DOCS[name], Loader=SafeLoader)


def test_a_duplicate_key_is_refused_where_pyyaml_keeps_the_last() -> None:
    import pytest

    from mgc_iac.stack.fastyaml import DuplicateKeyError

    with pytest.raises(DuplicateKeyError) as err:
        load_yaml("a: 1\nb:\n  c: 1\n  c: 2\n")
    assert err.value.problem_mark.line + 1 == 4


def test_aliases_share_objects_like_pyyaml() -> None:
    doc = load_yaml(DOCS["anchors"])
    assert doc["one"] is doc["two"]


def test_demo_stack_files_load_identically() -> None:
    for path in sorted(DEMO.glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        assert load_yaml(text) == yaml.load(text, Loader=SafeLoader), path.name


@pytest.mark.parametrize(("text", "error"), [
    ("? [a]\n: b\n", "unhashable"),
    ("a: 1\n---\nb: 2\n", "expected a single document"),
    ("a: [1, 2\nb: 3\n", "expected ',' or ']'"),
])
def test_errors_are_pyyaml_errors_with_marks(text: str, error: str) -> None:
    with pytest.raises(yaml.MarkedYAMLError, match=error) as info:
        load_yaml(text)
    assert info.value.problem_mark is not None
