"""The checker's indexed sibling steps select exactly what their XPath selects.

The conformance walk answers some steps from an index shared by their siblings
(``conformance._Keyed``) instead of evaluating their XPath; here both are evaluated from every
element of real and mutated messages and must give the same elements in the same order.
"""

from __future__ import annotations

import copy

import pytest
from factories.e2b import EXAMPLES, example
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from safety.e2b import conformance
from safety.e2b.hl7 import XSI, parse_xml
from safety.e2b.sample import sample_case
from safety.e2b.writer import ExportHeader, build_batch, serialise
from safety.package_data import BUNDLED_SCHEMAS


def _keyed_nodes() -> list[conformance._Trie]:
    out = []
    stack = list(conformance._tries(BUNDLED_SCHEMAS))
    while stack:
        node = stack.pop()
        for child in node.children.values():
            if child.keyed is not None:
                out.append(child)
            stack.append(child)
    return out


def _assert_same(root: etree._Element) -> int:
    nodes = _keyed_nodes()
    compared = 0
    for el in root.iter(etree.Element):
        indexes: dict[str, dict] = {}
        for child in nodes:
            keyed = child.keyed
            assert keyed is not None and child.selector is not None
            if keyed.index_key not in indexes:
                indexes[keyed.index_key] = keyed.index(el)
            got = keyed.select(indexes[keyed.index_key])
            want = child.selector(el)
            assert [id(e) for e in got] == [id(e) for e in want], (child.selector, el)
            compared += len(want)
    return compared


def _documents() -> list[bytes]:
    docs = [example(name) for name in sorted(EXAMPLES)]
    header = ExportHeader(sender_id="T", destination="fda-postmarket")
    docs.append(serialise(build_batch([sample_case()], header)))
    return docs


def test_sibling_steps_are_indexed() -> None:
    assert len(_keyed_nodes()) >= 10  # the reaction and drug observations at least


@pytest.mark.parametrize("index", range(len(EXAMPLES) + 1))
def test_indexed_steps_match_xpath_on_messages(index: int) -> None:
    root = parse_xml(_documents()[index])
    assert _assert_same(root) > 0


def test_a_position_before_the_key_test_is_left_to_xpath() -> None:
    assert conformance._keyed("a[1][b/c[@x='1']]/d") is None
    assert conformance._keyed("a[b/c[@x='1'][@y='2']][1]/d") is not None
    assert conformance._keyed("a[b/c[@x='1'] or @z='3']") is None
    assert conformance._keyed("a[b/c[starts-with(@x, '1')]]") is None


_ATTRIBUTES = ["code", "codeSystem", "typeCode", "classCode", "moodCode", f"{{{XSI}}}type"]
_VALUES = ["1", "2", "3", "10", "24", "PERT", "COMP", "OBS", "EVN", "BL", "CE",
           "2.16.840.1.113883.3.989.2.1.1.19", "2.16.840.1.113883.6.163", ""]
_mutation = st.tuples(st.integers(0, 10**6), st.sampled_from(["set", "drop", "copy", "delete"]),
                      st.sampled_from(_ATTRIBUTES), st.sampled_from(_VALUES))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, len(EXAMPLES)), st.lists(_mutation, min_size=1, max_size=12))
def test_indexed_steps_match_xpath_on_mutated_messages(
        index: int, mutations: list[tuple[int, str, str, str]]) -> None:
    root = parse_xml(_documents()[index])
    for pick, kind, name, value in mutations:
        elements = [e for e in root.iter(etree.Element) if e.getparent() is not None]
        el = elements[pick % len(elements)]
        if kind == "set":
            el.set(name, value)
        elif kind == "drop":
            el.attrib.pop(name, None)
        elif kind == "copy":
            el.addnext(copy.deepcopy(el))
        else:
            el.getparent().remove(el)
    _assert_same(root)
