"""The fast stack loader reads every document exactly as PyYAML's safe loader does."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from mgc_iac.stack._fastyaml_lines import NotSimple, read_simple
from mgc_iac.stack.fastyaml import SafeLoader, _PlainScalars, load_yaml

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


# --- the line reader (_fastyaml_lines): what it reads equals PyYAML's safe loader; the rest goes to libyaml ---

SCALARS = ["a", "web-01", "yes", "No", "on", "~", "null", "", "1:20", "12:30:00", "0x1f", "0o17", "017", "1_000",
           ".inf", "-.5", "-1", "+1", "1e3", "-a", "a b", "a  b", "a:b", "a: b", "a :b", "a::b", "http://x/y",
           "a #c", "a#c", "a # c", "'q''s'", "''", "'a: b, c'", '"d"', '""', '"a\\nb"', "'C:\\data'", "2026-11-25",
           "2026-11-25T10:00:00Z", "=", "<<", "?a", "x?", "a,b", "a]", "%a", "@a", "`a", "&x a", "*x", "!!str 1",
           "|", ">", "-", "- a", "---", "...", "~/.ssh/id", "10.0.0.1", "fa:16:3e:00:00:01", "1.5", "true",
           "[a, b]", "[a b, 'c, d']", "[]", "[ ]", "{}", "{ }", "{a: 1, b: [c]}", "{a: 1, a: 2}", "{a:1}", "{a: }",
           "{a : b}", "{a: b c}", "{a: 'x: y'}", "[a: b]", "[a, ]", "{a: {b: [1, {c: d}]}}", "[-1, -a]", "{1: a}",
           "{yes: no}", "[a, [b]]", "{'k': \"v\"}", "a\tb", "é", "a  ", "a # c # d"]
KEYS = ["a", "b", "name", "1", "yes", "~", "a b", "'q'", '"d"', "a:b", "-k", "<<", "=", "? a", "a#b", "x" * 1100]


@st.composite
def block_documents(draw: st.DrawFn) -> str:
    lines = []
    for _ in range(draw(st.integers(1, 12))):
        indent = " " * draw(st.sampled_from([0, 0, 1, 2, 2, 4, 6]))
        key, value = draw(st.sampled_from(KEYS)), draw(st.sampled_from(SCALARS))
        shape = draw(st.sampled_from(["{k}: {v}", "{k}:", "- {v}", "- {k}: {v}", "- {k}:", "-", "{v}", "# {v}", "",
                                      "- - {v}", "{k}:  {v}  # c", "{k}: # c"]))
        lines.append(indent + shape.format(k=key, v=value))
    return "\n".join(lines) + draw(st.sampled_from(["\n", "", "\r\n", "\n\n"]))


@st.composite
def nested_documents(draw: st.DrawFn) -> str:
    """Mostly well-formed block documents (mappings, sequences at their key's indent or deeper, entries that
    open mappings, comments), with the same tricky scalars and keys."""
    lines: list[str] = []

    def node(indent: int, depth: int) -> None:
        if draw(st.booleans()) and depth < 4:
            for _ in range(draw(st.integers(1, 4))):
                key = draw(st.sampled_from(KEYS[:10]))
                if draw(st.integers(0, 3)) or depth >= 3:
                    lines.append(" " * indent + f"{key}: {draw(st.sampled_from(SCALARS))}")
                else:
                    lines.append(" " * indent + f"{key}:" + draw(st.sampled_from(["", " # c", "  "])))
                    node(indent + draw(st.sampled_from([0, 1, 2, 4])), depth + 1)
        else:
            for _ in range(draw(st.integers(1, 3))):
                if draw(st.booleans()):
                    lines.append(" " * indent + f"- {draw(st.sampled_from(SCALARS))}")
                else:
                    key, value = draw(st.sampled_from(KEYS[:10])), draw(st.sampled_from(SCALARS))
                    lines.append(" " * indent + f"- {key}: {value}")
                    for _ in range(draw(st.integers(0, 2))):
                        lines.append(" " * (indent + 2) + f"{draw(st.sampled_from(KEYS[:10]))}: "
                                     f"{draw(st.sampled_from(SCALARS))}")
            if draw(st.integers(0, 5)) == 0:
                lines.append(draw(st.sampled_from(["", "# note", "   # note"])))

    node(0, 0)
    return "\n".join(lines) + "\n"


def _typed(value: object) -> object:
    """Equality that tells 1, 1.0 and True apart."""
    if isinstance(value, dict):
        return ("dict", [(_typed(k), _typed(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("list", [_typed(v) for v in value])
    return (type(value).__name__, value)


def _both(text: str) -> tuple[object, object]:
    """(PyYAML's data or its error's type, the line reader's data or NotSimple)."""
    try:
        expected: object = yaml.load(text, Loader=SafeLoader)
    except (yaml.YAMLError, ValueError) as exc:
        expected = type(exc)
    try:
        got: object = read_simple(text, _PlainScalars().value)
    except NotSimple:
        got = NotSimple
    return expected, got


@settings(max_examples=1000, deadline=None)
@given(st.one_of(block_documents(), nested_documents()))
def test_the_line_reader_reads_what_pyyaml_reads_or_leaves_it_to_libyaml(text: str) -> None:
    expected, got = _both(text)
    if got is not NotSimple:
        assert _typed(got) == _typed(expected), text


@pytest.mark.parametrize("text", [
    "a: 1\nb:\n  - {device: /dev/vda, size_gb: 40, used_gb: 12.5}\n  - x\nc: {host: 10.0.0.1, user: root}\n",
    "sources:\n- name: web-01\n  ip: 10.0.0.1   # the primary\n  mac: \"fa:16:3e:00:00:01\"\n  tags: {}\n  d: []\n",
    "a:\n  b:\n    c: 'it''s'\n  d: ~\ne:\n",
    "- - a\n", "a: |\n  x\n", "a: &x 1\nb: *x\n", "a: b\n  c\n", "a: 1\na: 2\n", "a:\n    b: 1\n  c: 2\n",
    "---\na: 1\n", "a: 1\n...\n", "a: 1\r\nb:\r\n  - x # c\r\n  - {k: v}\r\n", "a: 1\rb: 2\n",
    "a:\tb\n", "a: 'x\n  y'\n", "a: [1,\n  2]\n", "a: é\n", "<<: {a: 1}\n",
])
def test_stack_shaped_documents_and_their_edges(text: str) -> None:
    expected, got = _both(text)
    if got is not NotSimple:
        assert _typed(got) == _typed(expected)
    if not isinstance(expected, type) and text != "a: 1\na: 2\n":  # load_yaml refuses the repeated key
        assert _typed(load_yaml(text)) == _typed(expected)


def test_a_stack_of_plain_block_yaml_is_read_by_the_line_reader() -> None:
    text = "".join(
        f"  - name: srv-{i:03d}\n    ip: 10.0.0.{i}\n    os: linux\n    cpus: {2 << i % 3}\n"
        f"    disks:\n      - {{device: /dev/vda, size_gb: 40, used_gb: 12}}\n"
        f"    ssh: {{host: 10.0.0.{i}, user: root, key_file: ~/.ssh/id_ed25519}}\n"
        f"    facts: {{rsync: true, available_cpus: 1.5}}\n" for i in range(50))
    text = "sources:\n" + text
    assert _typed(read_simple(text, _PlainScalars().value)) == _typed(yaml.load(text, Loader=SafeLoader))


def test_demo_stack_files_take_the_line_reader_or_libyaml_with_the_same_data() -> None:
    for path in sorted(DEMO.glob("*.yaml")):
        expected, got = _both(path.read_text(encoding="utf-8"))
        if got is not NotSimple:
            assert _typed(got) == _typed(expected), path.name
