"""No call of one sponsor reads or changes a row of another (issue #12).

Hypothesis drives sequences of what the callers of two sponsors do — sites submit reports
(new patients, duplicates of the patient both sponsors share, follow-ups) that the worker
processes, physicians move cases on their pages and decide on duplicates and codes, the team
approves and sends messages through the outbox, exports a case as E2B, applies a regulator's
ACK, reads its lists, and tries the other sponsor's objects. Before each step every row of the
*other* sponsor is read (``TwoSponsors.snapshot``: each table with a ``sponsor_id``, the audit
trail included, and the rows hanging off its cases); after the step it must be unchanged, and
no answer the caller got may name any of its identifiers (``TwoSponsors.markers``).

The world is made once per test and grows across examples (making it costs seconds), so a
failure is reported with the step that caused it (``note``) rather than shrunk.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from factories.tenancy import Side, TwoSponsors, form_of
from factories.web import Browser
from hypothesis import HealthCheck, Phase, event, given, note, settings
from hypothesis import strategies as st

from safety.cli import main
from safety.e2b.ack import write_ack
from safety.e2b.reader import read_batch

KINDS = ("submit", "review", "duplicate", "coding", "export", "send", "ack", "lists", "cross")
STEP = st.tuples(st.sampled_from(("a", "b")), st.sampled_from(KINDS), st.integers(0, 1000))
CODES = ("95000001", "94000002", "95000003")  # LLTs of the test release
TRANSITIONS = ("accept", "start_data_entry", "send_to_medical_review", "medical_review_done")


class Callers:
    """What each sponsor's people do, each step answering the texts its caller was shown."""

    def __init__(self, world: TwoSponsors, browsers: dict[str, Browser], outbox: Path) -> None:
        self.world, self.browsers, self.outbox = world, browsers, outbox

    def run(self, side: Side, kind: str, n: int) -> list[str]:
        out: list[str] = getattr(self, kind)(side, n)
        return out

    # --- steps ------------------------------------------------------------------------------

    def submit(self, side: Side, n: int) -> list[str]:
        w = self.world
        side.submitted += 1
        form = form_of(side.code, side.submitted, variant=n % 2 == 1)
        if n % 3 == 0:  # another patient
            form["subject"] = {"id": f"101-{n:03d}", "initials": "KP", "sex": "male",
                               "birth_date": "1950-02"}
        elif n % 3 == 1:  # a follow-up of the site's first report
            form["sae_id"], form["report_type"] = f"{side.code}-SAE001", "followup"
            form["events"][0]["outcome"] = "recovered"
        r = w.client.post("/api/v1/reports", json=form, headers=side.headers(site=True))
        assert r.status_code == 202, r.json
        w.worker()
        status = w.client.get(r.json["status_url"], headers=side.headers(site=True))
        if status.json.get("case_id") and status.json["case_id"] not in side.cases:
            side.cases.append(status.json["case_id"])
        return [r.text, status.text]

    def review(self, side: Side, n: int) -> list[str]:
        b = self.browsers[side.physician]
        case = self._case(side, n)
        texts = [b.post(f"/cases/{case}/assign").text]
        texts.append(b.post(f"/cases/{case}/transition", data={
            "transition": TRANSITIONS[n % len(TRANSITIONS)], "reason": f"step {n}"}).text)
        page = b.get(f"/cases/{case}")
        assert page.status_code == 200
        return [*texts, page.text]

    def duplicate(self, side: Side, n: int) -> list[str]:
        w = self.world
        case = self._case(side, n)
        listed = w.client.get(f"/api/v1/cases/{case}/duplicates", headers=side.headers())
        assert listed.status_code == 200
        texts = [listed.text]
        for candidate in listed.json[:1]:
            other = candidate["candidate_case_id"]
            assert other in side.cases, "a candidate of another sponsor"
            if n % 2 and self.browsers.get(side.physician):
                page = self.browsers[side.physician].post(
                    f"/cases/{case}/duplicates/{other}",
                    data={"decision": "reject", "reason": "different admissions"})
                texts.append(page.text)
            else:
                r = w.client.post(f"/api/v1/cases/{case}/duplicates/{other}",
                                  headers=side.headers(),
                                  json={"decision": ("confirm", "reject")[n % 2],
                                        "reason": "same patient, same admission"})
                # 422: a confirmation the model rules out (probability 0.00) is refused as the
                # page refuses it; like a 409, it changes nothing
                assert r.status_code in (200, 409, 422), r.text
                texts.append(r.text)
        return texts

    def coding(self, side: Side, n: int) -> list[str]:
        w = self.world
        case = self._case(side, n)
        detail = w.client.get(f"/api/v1/cases/{case}", headers=side.headers()).json
        reaction = detail["data"]["reactions"][0]["id"]
        r = w.client.put(f"/api/v1/cases/{case}/events/{reaction}/coding",
                         headers=side.headers(),
                         json={"code": CODES[n % len(CODES)], "reason": f"decision {n}",
                               "add_synonym": n % 2 == 0})
        assert r.status_code in (200, 422), r.text
        suggestion = w.client.get("/api/v1/terminology/events?q=febrile%20neutropenia",
                                  headers=side.headers())
        return [r.text, suggestion.text]

    def export(self, side: Side, n: int) -> list[str]:
        number = self.world.client.get(f"/api/v1/cases/{self._case(side, n)}",
                                       headers=side.headers()).json["case_number"]
        res = _cli(side, "export", "e2b", number, "--destination", ("fda", "ema")[n % 2])
        assert "Traceback" not in res.output
        return [res.output]

    def send(self, side: Side, n: int) -> list[str]:
        self.world.approve(side, self._case(side, n))
        res = _cli(side, "submissions", "export", "--outbox", str(self.outbox))
        assert res.exit_code == 0, res.output
        files = [Path(json.loads(line)["file"]) for line in res.output.splitlines()]
        assert all(f.is_relative_to(self.outbox / side.code) for f in files)
        return [res.output, *(f.read_text() for f in files)]

    def ack(self, side: Side, n: int) -> list[str]:
        sent = self.world.submissions(side, "sent")
        if not sent:
            return []
        sub = sent[n % len(sent)]
        verdicts = {sub.message_id: "CR"} if n % 2 else {}
        ack = write_ack(read_batch(sub.xml), our_id="ZZFDA", verdicts=verdicts,
                        reasons={sub.message_id: "R0010: invalid code"} if n % 2 else {})
        r = self.world.client.post("/api/v1/acks", data=ack,
                                   headers=side.headers(**{"Content-Type": "application/xml"}))
        assert r.status_code == 200, r.text
        return [r.text]

    def lists(self, side: Side, n: int) -> list[str]:
        w = self.world
        cases = w.client.get("/api/v1/cases?per_page=500", headers=side.headers())
        assert {c["case_id"] for c in cases.json["items"]} == set(side.cases)
        texts = [cases.text, w.client.get("/api/v1/obligations", headers=side.headers()).text,
                 w.client.get("/api/v1/cases", headers=side.headers(site=True)).text,
                 self.browsers[side.physician].get("/queue?all=1").text,
                 self.browsers[side.physician].get("/dashboard").text,
                 self.browsers[side.site_user].get("/portal").text]
        listed = _cli(side, "submissions", "list")
        assert listed.exit_code == 0
        return [*texts, listed.output]

    def cross(self, side: Side, n: int) -> list[str]:
        """One of the other sponsor's objects, by an API route, a page or a command."""
        w = self.world
        other = w.other(side)
        case = other.cases[n % len(other.cases)]
        subs = w.submissions(other)
        sub = str(subs[n % len(subs)].id) if subs else str(uuid.uuid4())
        mine = self._case(side, n)
        api = [("GET", f"/api/v1/cases/{case}", None),
               ("POST", f"/api/v1/cases/{mine}/duplicates/{case}",
                {"decision": "confirm", "reason": "same"}),
               ("POST", f"/api/v1/cases/{case}/nullification", {"reason": "error"}),
               ("GET", f"/api/v1/submissions/{sub}/xml", None),
               ("POST", f"/api/v1/submissions/{sub}/amendment", {"reason": "fix"})]
        pages = [("GET", f"/cases/{case}"), ("POST", f"/cases/{case}/assign"),
                 ("POST", f"/cases/{mine}/duplicates/{case}"),
                 ("GET", f"/cases/{case}/submissions/{sub}.xml")]
        commands = [["obligations", case], ["submissions", "amend", sub, "--reason", "fix"],
                    ["submissions", "nullify", case, "--reason", "error"]]
        sent = w.submissions(other, "sent")
        if sent and n % 4 == 0:  # a regulator's ACK of the other's message, by API and CLI
            ack = write_ack(read_batch(sent[0].xml), our_id="ZZFDA")
            batch = sent[0].batch_id or ""
            r = w.client.post("/api/v1/acks", data=ack, headers=side.headers(
                **{"Content-Type": "application/xml"}))
            assert r.status_code == 404, r.text
            path = self.outbox.parent / f"ack-{n}.xml"
            path.write_bytes(ack)
            res = _cli(side, "ack", "import", str(path))
            assert res.exit_code != 0, res.output
            return [r.text.replace(batch, ""), res.output.replace(batch, "")]
        pick = n % (len(api) + len(pages) + len(commands))
        if pick < len(api):
            method, url, body = api[pick]
            r = w.client.open(url, method=method, json=body, headers=side.headers())
            assert r.status_code == 404, (url, r.status_code)
            return [r.text.replace(case, "").replace(sub, "")]
        pick -= len(api)
        if pick < len(pages):
            method, url = pages[pick]
            b = self.browsers[side.physician]
            r = b.get(url) if method == "GET" else b.post(url, data={"decision": "confirm",
                                                                      "reason": "same"})
            assert r.status_code == 404, (url, r.status_code)
            return [r.text]
        args = commands[pick - len(pages)]
        res = _cli(side, *args)
        assert res.exit_code != 0, (args, res.output)
        return [res.output.replace(case, "").replace(sub, "")]

    def _case(self, side: Side, n: int) -> str:
        return side.cases[n % len(side.cases)]


def _cli(side: Side, *args: str) -> Any:
    return CliRunner().invoke(main, ["--sponsor", side.code, *args])


def _changed(before: dict[str, list[Any]], after: dict[str, list[Any]]) -> dict[str, Any]:
    return {t: {"gone": [r for r in before[t] if r not in after[t]],
                "new": [r for r in after[t] if r not in before[t]]}
            for t in before if before[t] != after[t]}


@pytest.mark.slow
@settings(max_examples=20, deadline=None, phases=(Phase.generate,),
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(steps=st.lists(STEP, min_size=1, max_size=4))
def test_no_call_of_one_sponsor_reads_or_changes_the_others_rows(world, browser, tmp_path,
                                                                 steps):
    callers = _callers(world, browser, tmp_path)
    for who, kind, n in steps:
        side = world.a if who == "a" else world.b
        other = world.other(side)
        note(f"{side.code} {kind} {n}")
        before, markers = world.snapshot(other), world.markers(other)
        texts = callers.run(side, kind, n)
        event(f"{kind}: {'answered' if texts else 'nothing to do'}")
        assert _changed(before, world.snapshot(other)) == {}, (side.code, kind, n)
        seen = {m for text in texts for m in markers if m in text}
        assert seen == set(), (side.code, kind, n, seen)


_CALLERS: dict[int, Callers] = {}


def _callers(world: TwoSponsors, browser: Any, tmp_path: Path) -> Callers:
    """One set of logged-in browsers per world (hypothesis calls the test many times with the
    same fixtures); the test release is loaded once, so coding decisions have codes."""
    found = _CALLERS.get(id(world))
    if found is None or found.world is not world:
        world.load_dictionary()
        browsers = {}
        for side in (world.a, world.b):
            for email in (side.physician, side.site_user):
                b = browser()
                assert b.login(email).status_code == 302
                b.get("/login")
                browsers[email] = b
        _CALLERS.clear()
        found = _CALLERS[id(world)] = Callers(world, browsers, tmp_path / "outbox")
    return found
