"""Registry and RSI: loaders, in-force lookup, expectedness and RSI change re-evaluation."""

from datetime import date

import pytest
from factories.rules import anchors, event, facts, pair, suspect

from safety.cases.model import Drug, Substance
from safety.products.registry import (
    Registry,
    RegistryError,
    Status,
    load_products_csv,
    load_registry_json,
    load_studies_csv,
    registry_to_json,
)
from safety.products.rsi import RsiError, RsiLibrary, RsiVersion, load_rsi_csv
from safety.rules.expectedness import assess
from safety.rules.rsi_change import Change, rsi_change


def test_products_and_studies_csv_round_trip_json(tmp_path):
    p = tmp_path / "products.csv"
    p.write_text("id,name,substances,jurisdiction,status,numbers\n"
                 "SDX-101,Zelvorin,zelvoritinib,US,investigational,IND 123456\n"
                 "SDX-101,Zelvorin,zelvoritinib,EU,authorised,EU/1/26/1234\n")
    s = tmp_path / "studies.csv"
    s.write_text("protocol,jurisdictions,ind_numbers,products,blinded,title\n"
                 "SDX-101-301,US;EU,IND 123456,SDX-101,true,Phase 3\n")
    reg = load_studies_csv(s, load_products_csv(p))
    prod = reg.products["SDX-101"]
    assert prod.status_in("US") == {Status.INVESTIGATIONAL}
    assert prod.status_in("EU") == {Status.AUTHORISED}
    assert reg.studies["SDX-101-301"].blinded
    j = tmp_path / "reg.json"
    import json
    j.write_text(json.dumps(registry_to_json(reg)))
    again = load_registry_json(j)
    assert again.products == reg.products and again.studies == reg.studies
    assert again.match_drug(Drug(substances=[Substance(name="Zelvoritinib")])).id == "SDX-101"
    assert again.match_drug(Drug(name="unknown")) is None


def test_bad_status_names_row(tmp_path):
    p = tmp_path / "products.csv"
    p.write_text("id,name,substances,jurisdiction,status,numbers\nX,X,,US,marketed,\n")
    with pytest.raises(RegistryError, match=r"products.csv:2.*marketed"):
        load_products_csv(p)


def test_rsi_in_force_at_day0(tmp_path):
    p = tmp_path / "rsi.csv"
    p.write_text("product_id,reference,version,effective_from,pt_code,document\n"
                 "P1,IB,6,2025-06-01,100,IB ed. 6\n"
                 "P1,IB,7,2026-03-01,100,IB ed. 7\n"
                 "P1,IB,7,2026-03-01,200,IB ed. 7\n")
    lib = load_rsi_csv(p)
    assert lib.in_force("P1", "IB", date(2026, 2, 28)).version == "6"
    assert lib.in_force("P1", "IB", date(2026, 3, 1)).version == "7"
    assert lib.in_force("P1", "IB", date(2025, 1, 1)) is None
    assert not assess(lib, "P1", "200", "IB", date(2026, 2, 28)).expected
    assert assess(lib, "P1", "200", "IB", date(2026, 3, 1)).expected
    none = assess(lib, "P1", "200", "label:US", date(2026, 3, 1))
    assert not none.expected and "no label:US RSI" in none.rsi


def test_rsi_reference_validated():
    with pytest.raises(RsiError, match="reference"):
        RsiLibrary().add(__import__("safety.products.rsi", fromlist=["rsi_from_dict"])
                         .rsi_from_dict({"product_id": "P", "reference": "SmPC",
                                         "version": "1", "effective_from": "2026-01-01"}))


def _ib(version, eff, pts):
    return RsiVersion("P1", "IB", version, date.fromisoformat(eff), frozenset(pts))


def test_rsi_change_reports_obligations_that_disappear_and_appear():
    old_v = _ib("1", "2025-01-01", [])
    lib = RsiLibrary()
    lib.add(old_v)
    case_a = facts(anchors_=anchors("2026-02-27"), events=(event(pt="100"),),
                   pairs=(pair(expected=False),))
    # the old IB did not list PT 100 → SUSAR; new IB (in force before day 0) lists it
    changes = rsi_change([case_a], lib, old_v, _ib("1.1", "2025-01-01", ["100"]))
    gone = {(c.obligation.regime, c.change) for c in changes}
    assert ("eu-ctr", Change.DISAPPEARS) in gone and ("fda-ind", Change.DISAPPEARS) in gone
    assert all(c.change is Change.DISAPPEARS for c in changes)
    # the reverse: the PT is removed from the IB → SUSAR appears
    lib2 = RsiLibrary()
    listed = _ib("1", "2025-01-01", ["100"])
    lib2.add(listed)
    case_b = facts(events=(event(pt="100"),), pairs=(pair(expected=True),))
    appear = rsi_change([case_b], lib2, listed, _ib("2", "2025-01-01", []))
    assert appear and all(c.change is Change.APPEARS for c in appear)


def test_rsi_change_effective_after_day0_changes_nothing():
    old_v = _ib("1", "2025-01-01", [])
    lib = RsiLibrary()
    lib.add(old_v)
    case = facts(anchors_=anchors("2026-02-27"), events=(event(pt="100"),))
    assert rsi_change([case], lib, None, _ib("2", "2026-06-01", ["100"])) == []


def test_rsi_change_skips_other_products():
    lib = RsiLibrary()
    v = RsiVersion("OTHER", "IB", "1", date(2025, 1, 1), frozenset())
    lib.add(v)
    case = facts(suspects=(suspect(product="P1"),))
    assert rsi_change([case], lib, v, RsiVersion("OTHER", "IB", "2", date(2025, 1, 1),
                                                  frozenset({"10001"}))) == []


def test_registry_match_by_name_case_insensitive():
    from safety.products.registry import Product
    reg = Registry()
    reg.add_product(Product("P1", "Zelvorin", ("zelvoritinib",)))
    assert reg.match_drug(Drug(name="  ZELVORIN ")).id == "P1"
