"""``hl7.paths_under`` (every element's XPath in one pass, what intake numbers elements by)
gives exactly what ``hl7.path_of`` gives each element: on the official example messages and
on generated trees with repeated and unique siblings (issue 21: storing speed)."""

from __future__ import annotations

from factories.e2b import DATA
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from safety.e2b.hl7 import parse_xml, path_of, paths_under

NS = "urn:hl7-org:v3"


def _same(root: etree._Element) -> int:
    paths = paths_under(root)
    elements = [el for el in root.iter() if isinstance(el.tag, str)]
    assert len(paths) == len(elements)
    for el in elements:
        assert paths[el] == path_of(el)
    return len(elements)


def test_the_example_messages() -> None:
    counted = sum(_same(parse_xml(f.read_bytes())) for f in sorted(DATA.glob("*.xml")))
    assert counted > 1000


_trees = st.recursive(
    st.sampled_from(["a", "b", "c"]).map(lambda t: (t, [])),
    lambda children: st.tuples(st.sampled_from(["a", "b", "c", "d"]),
                               st.lists(children, max_size=4)),
    max_leaves=30)


def _build(node: tuple[str, list], parent: etree._Element | None = None) -> etree._Element:
    tag, children = node
    el = (etree.Element(f"{{{NS}}}{tag}") if parent is None
          else etree.SubElement(parent, f"{{{NS}}}{tag}"))
    if parent is not None and tag == "d":
        parent.append(etree.Comment("a comment is no sibling"))
    for child in children:
        _build(child, el)
    return el


@settings(max_examples=200, deadline=None)
@given(_trees)
def test_generated_trees(tree: tuple[str, list]) -> None:
    _same(_build(tree))
