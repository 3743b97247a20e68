"""Issue 16, item 6, through the app: the CIOMS I PDF (API and case page), the E2B message
made readable with its file to download, the line listing of the queue (page and API)."""

from __future__ import annotations

import csv
import io

from factories.portal import portal_ind_case
from openpyxl import load_workbook
from pypdf import PdfReader


def _pdf_text(data: bytes) -> str:
    return " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages
                             ).split())


def test_cioms1_message_view_and_line_listing(settings, users, browser, worker, sites, client):
    case_id, team = portal_ind_case(settings, users, browser, worker, sites, client)
    headers = sites.headers(team)
    case = client.get(f"/api/v1/cases/{case_id}", headers=headers).json
    number = case["case_number"]

    # CIOMS I through the API: an attachment with the case's values in the form's boxes
    r = client.get(f"/api/v1/cases/{case_id}/cioms1.pdf", headers=headers)
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    assert r.headers["Content-Disposition"] == (
        f'attachment; filename="CIOMS-I-{number}-v1.pdf"')
    text = _pdf_text(r.data)
    for shown in (f"Case {number}, version 1", "1. PATIENT INITIALS", "MB", "3. SEX",
                  "1. febrile neutropenia", "30 OCT 2026", "pembrolizumab", "200 mg",
                  "SafetyDesk Demo Pharma Ltd", case["worldwide_case_id"], "[X] STUDY",
                  "[X] INVOLVED OR PROLONGED INPATIENT HOSPITALISATION", "[X] INITIAL"):
        assert shown in text, shown
    site = sites.token("Site 101")
    assert client.get(f"/api/v1/cases/{case_id}/cioms1.pdf",
                      headers=sites.headers(site)).status_code == 403

    # the case page links the form and each message's readable view and file
    users.add("proc@example.org", "case_processor")
    proc = browser()
    proc.login("proc@example.org")
    page = proc.get(f"/cases/{case_id}").text
    assert f'href="/cases/{case_id}/cioms1.pdf"' in page
    web_pdf = proc.client.get(f"/cases/{case_id}/cioms1.pdf")  # bytes, not a page
    assert web_pdf.status_code == 200 and web_pdf.headers["Content-Disposition"].startswith(
        "attachment;") and _pdf_text(web_pdf.data) == text
    subs = {s["destination"]: s
            for s in client.get(f"/api/v1/cases/{case_id}/submissions", headers=headers).json}
    fda = subs["FDA"]
    assert f'href="/cases/{case_id}/submissions/{fda["id"]}"' in page

    view = proc.get(f"/cases/{case_id}/submissions/{fda['id']}")
    assert view.status_code == 200
    html = view.text
    assert 'data-element="FDA.C.5.5a"' in html and ">145678<" in html
    assert 'data-element="C.1.3"' in html and "Report from study" in html
    # the site gave no outcome: the message says unknown (E.i.7 = 0), and the view says so
    e_i_7 = html[html.index('data-element="E.i.7"'):]
    assert '<td class="value">0</td><td class="meaning">unknown</td>' in e_i_7[:400]
    assert "CDER_IND" in html
    download = proc.get(f"/cases/{case_id}/submissions/{fda['id']}/download")
    assert download.status_code == 200
    assert download.headers["Content-Disposition"] == (
        f'attachment; filename="{number}-{fda["batch_id"]}.xml"')
    api_xml = client.get(f"/api/v1/submissions/{fda['id']}/xml", headers=headers).data
    assert download.data == api_xml
    # MHRA's message could not be written (no gateway): nothing to read or download
    assert proc.get(f"/cases/{case_id}/submissions/{subs['MHRA']['id']}").status_code == 404
    assert proc.get(f"/cases/{case_id}/submissions/{subs['MHRA']['id']}/download"
                    ).status_code == 404

    # the line listing of the queue as filtered, from the page and the API
    queue = proc.get("/queue?study=ONC-301").text
    assert 'href="/queue/line-listing.csv?study=ONC-301"' in queue
    listed = proc.get("/queue/line-listing.csv?study=ONC-301")
    assert listed.status_code == 200
    assert listed.headers["Content-Disposition"].startswith('attachment; filename="line-listing-')
    lines = list(csv.reader(io.StringIO(listed.data.decode("utf-8-sig"))))
    assert lines[0][:3] == ["Case number", "Version", "MAH case reference number"]
    assert [line[0] for line in lines[1:]] == [number]
    row = dict(zip(lines[0], lines[1], strict=True))
    assert row["Reaction(s) (MedDRA PT)"] == "Febrile neutropenia"
    assert row["Suspect drug(s)"] == "pembrolizumab" and row["Date of onset"] == "30 OCT 2026"
    assert row["Source"] == "study, physician" and row["Age / sex"] == "F"
    sheet = load_workbook(io.BytesIO(
        proc.client.get("/queue/line-listing.xlsx?study=ONC-301").data)).active
    assert sheet is not None
    assert [[c.value or "" for c in r] for r in sheet.iter_rows()] == lines
    assert proc.get("/queue/line-listing.csv?study=NO-SUCH").data.decode(
        "utf-8-sig").splitlines()[1:] == []
    api = client.get("/api/v1/line-listing?format=xlsx&study=ONC-301", headers=headers)
    assert api.status_code == 200 and api.headers["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    api_sheet = load_workbook(io.BytesIO(api.data)).active
    assert api_sheet is not None
    assert [[c.value or "" for c in r] for r in api_sheet.iter_rows()] == lines
    bad = client.get("/api/v1/line-listing?format=pdf", headers=headers)
    assert bad.status_code == 422 and "format" in bad.text
