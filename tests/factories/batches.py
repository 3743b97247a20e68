"""E2B(R3) batches of several messages, each made from the sample case with its own ids, and
values a test can make too long for what the service stores."""

from __future__ import annotations

import re
from dataclasses import dataclass

from safety.e2b.export import export_cases
from safety.e2b.sample import sample_case
from safety.e2b.writer import ExportHeader

SENDER = "PARTNER"


@dataclass
class Message:
    """What differs between the messages of a batch."""

    c11: str  # C.1.1, the sender's safety report id
    c181: str  # C.1.8.1, the worldwide unique case id
    sender: str | None = SENDER  # N.2.r.2 (None: the message names no sender)


def batch(*messages: Message, batch_sender: str = SENDER) -> bytes:
    """One batch holding a message per ``Message`` (a distinct case each), sent by
    ``batch_sender`` (N.1.3)."""
    cases = []
    for m in messages:
        case = sample_case()
        case.admin.sender_safety_report_id = m.c11
        case.admin.worldwide_case_id = m.c181
        cases.append(case)
    xml = export_cases(cases, ExportHeader(sender_id=SENDER, destination="ich")).xml.decode()
    # N.2.r.2 is the header's for every message: give each message its own, or none.
    head, *parts = xml.split("<PORR_IN049016UV")
    own = re.compile(r'<sender typeCode="SND">\s*<device [^>]*>\s*<id extension="PARTNER"'
                     r'[^>]*/>\s*</device>\s*</sender>')
    for i, m in enumerate(messages):
        if m.sender is None:
            parts[i] = own.sub("", parts[i], count=1)
        elif m.sender != SENDER:
            parts[i] = parts[i].replace(f'extension="{SENDER}"', f'extension="{m.sender}"', 1)
    # the batch's own sender comes last, after the messages
    parts[-1] = _replace_last(parts[-1], f'extension="{SENDER}"', f'extension="{batch_sender}"')
    return "<PORR_IN049016UV".join([head, *parts]).encode()


def _replace_last(text: str, old: str, new: str) -> str:
    head, sep, tail = text.rpartition(old)
    return head + new + tail if sep else text


def valid(n: int) -> Message:
    return Message(c11=f"US-PARTNER-{n:06d}", c181=f"US-PARTNER-{n:06d}")
