"""``products`` CLI against a temporary, migrated SQLite file (no database server)."""

from __future__ import annotations

import json

from click.testing import CliRunner

from safety.cli.products import products
from safety.db.migrate import upgrade


def test_import_and_list(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'p.db'}"
    monkeypatch.setenv("SAFETY_DATABASE_URL", url)
    monkeypatch.setenv("SAFETY_HOME", str(tmp_path))
    upgrade(url)  # the DEFAULT sponsor is the only one: the CLI needs no --sponsor
    p = tmp_path / "products.csv"
    p.write_text("id,name,substances,jurisdiction,status,numbers\n"
                 "SDX-101,Zelvorin,zelvoritinib,US,investigational,IND 123456\n")
    r = tmp_path / "rsi.csv"
    r.write_text("product_id,reference,version,effective_from,pt_code,document\n"
                 "SDX-101,IB,7,2026-01-01,10019851,IB ed. 7\n")
    runner = CliRunner()
    res = runner.invoke(products, ["import", "--kind", "products", str(p)])
    assert res.exit_code == 0, res.output
    res = runner.invoke(products, ["import-rsi", str(r)])
    assert res.exit_code == 0 and "1 RSI version" in res.output
    out = json.loads(runner.invoke(products, ["list"]).output)
    assert out["products"][0]["statuses"][0]["numbers"] == ["IND 123456"]
    bad = tmp_path / "bad.csv"
    bad.write_text("id,name,substances,jurisdiction,status,numbers\nX,X,,US,sold,\n")
    res = runner.invoke(products, ["import", "--kind", "products", str(bad)])
    assert res.exit_code != 0 and "bad.csv:2" in res.output
