"""Every data element of the ICH and FDA tables has a place in the case model or a stated
reason why not (``safety.e2b.elements``): a partner's element is never dropped unnoticed."""

from __future__ import annotations

import typing

from safety.cases.model import CaseVersionData
from safety.e2b.elements import FIELDS, NOT_IN_CASE
from safety.e2b.rules import element_rules


def test_every_element_of_the_tables_is_placed_or_justified() -> None:
    numbers = {r.number for r in element_rules()}
    assert numbers - set(FIELDS) - set(NOT_IN_CASE) == set()
    assert set(FIELDS) & set(NOT_IN_CASE) == set()
    assert set(FIELDS) | set(NOT_IN_CASE) <= numbers  # no element the tables do not know
    assert all(len(reason) > 20 for reason in NOT_IN_CASE.values())


def test_every_place_is_an_attribute_of_the_model() -> None:
    for number, path in FIELDS.items():
        cls: typing.Any = CaseVersionData
        for part in path.split("."):
            hints = typing.get_type_hints(cls)
            name = part.removesuffix("[]")
            assert name in hints, (number, path, name)
            hint = hints[name]
            for _ in range(2):  # Optional[...] and list[...]
                args = [a for a in typing.get_args(hint) if a is not type(None)]
                if args and typing.get_origin(hint) is not None:
                    hint = args[0] if len(args) == 1 or typing.get_origin(hint) is list \
                        else hint
            assert part.endswith("[]") == (typing.get_origin(hints[name]) is list), \
                (number, path)
            cls = hint
    assert len(set(FIELDS.values())) == len(FIELDS)  # one place per element
