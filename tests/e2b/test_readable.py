"""An E2B message made readable: element numbers, names and code meanings from the ICH/FDA
tables, for the FDA's official example FAERS2022Scenario1 (values read from the file)."""

from __future__ import annotations

from factories.e2b import example

from safety.e2b.readable import parse_values, readable, section_of


def _rows(messages, key):  # type: ignore[no-untyped-def]
    section = next(s for s in messages[0] if s.key == key)
    return [(r.number, r.where, r.value, r.meaning) for r in section.rows]


def test_values_allowed_become_meanings():
    # the ICH table's C.1.3 and D.5 cells
    assert parse_values("1=Spontaneous Report  2=Report from study  3= other  4= Not "
                        "available to sender (unknown)") == {
        "1": "Spontaneous Report", "2": "Report from study", "3": "other",
        "4": "Not available to sender (unknown)"}
    assert parse_values("1=Male  2=Female nullFlavor: MSK, UNK, ASKU, NASK") == {
        "1": "Male", "2": "Female"}
    assert parse_values("Free text") == {}


def test_sections_by_element_number():
    assert section_of("C.1.3") == "C.1" and section_of("FDA.C.5.5a") == "C.5"
    assert section_of("E.i.7") == "E" and section_of("G.k.4.r.1a") == "G"
    assert section_of("N.1.2") == "N.1" and section_of("D.2.1") == "D"


def test_the_fda_example_reads_element_by_element():
    messages = readable(example("FAERS2022Scenario1.xml"))
    assert len(messages) == 1
    keys = [s.key for s in messages[0]]
    assert keys == ["N.1", "N.2", "C.1", "C.2", "C.3", "D", "E", "G", "H"]
    c1 = _rows(messages, "C.1")
    # the FDA table's wording (it is read after the ICH table's, for FDA and ICH elements)
    assert ("C.1.3", "", "1", "Spontaneous report") in c1
    assert ("C.1.8.1", "", "US-APHARMA-8744554B", "") in c1
    assert ("FDA.C.1.7.1", "", "1", "15-Day") in c1
    d = _rows(messages, "D")
    assert ("D.5", "", "1", "Male") in d and ("D.2.1", "", "20010615", "2001-06-15") in d
    e = _rows(messages, "E")
    # reaction 2 of the file: COLITE ISCHEMIQUE, recovered
    assert ("E.i.1.2", "2", "COLITE ISCHEMIQUE", "") in e
    assert ("E.i.7", "2", "1", "recovered/resolved") in e
    assert ("E.i.3.2a", "1", "NI", "null flavour: no information") in e
    # rows of one reaction stay together, in the tables' order
    assert [w for _, w, _, _ in e] == sorted(w for _, w, _, _ in e)
    g = _rows(messages, "G")
    assert ("G.k.2.2", "2", "Drug B", "") in g
    assert ("G.k.8", "1", "0", "Unknown") in g
