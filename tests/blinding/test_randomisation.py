"""The IWRS randomisation list: accepted shapes and refused rows (expected answers first)."""

from __future__ import annotations

import pytest

from safety.blinding.randomisation import Assignment, RandomisationError, parse_randomisation

PRODUCTS = frozenset({"SDX-101"})


def test_an_iwrs_export_with_kits_over_several_visits() -> None:
    text = ("\ufeffSubject Number,Treatment Arm,Treatment Code,Dose Strength,Kit Number\n"
            "1001,A,SDX-101,10 mg,K-0001\n"
            "1002,B,PLACEBO,,K-0002\n"
            "1001,A,SDX-101,,K-0107;K-0001\n")
    assert parse_randomisation(text, PRODUCTS) == [
        Assignment("1001", "A", "SDX-101", "10 mg", ("K-0001", "K-0107")),
        Assignment("1002", "B", "placebo", "", ("K-0002",)),
    ]


@pytest.mark.parametrize(("text", "message"), [
    ("subject,arm\n1,A\n", "header: treatment: no column"),
    ("subject,arm,treatment\n1,,SDX-101\n", "row 2: arm: required"),
    ("subject,arm,treatment\n1,A,SDX-999\n", "row 2: treatment: 'SDX-999'"),
    ("subject,arm,treatment\n1,A,SDX-101\n1,B,placebo\n", "row 3: subject 1 is already"),
    ("subject,arm,treatment\n", "file: no assignments"),
])
def test_bad_files_are_refused_naming_row_and_column(text: str, message: str) -> None:
    with pytest.raises(RandomisationError, match=message):
        parse_randomisation(text, PRODUCTS)
