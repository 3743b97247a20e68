from __future__ import annotations

import pytest
from factories.coding import FIXTURES

from safety.coding.bundled import bundled_autocoder
from safety.coding.meddra_ascii import load_meddra_ascii
from safety.coding.terminology import Terminology


@pytest.fixture(scope="session")
def fixture_meddra() -> Terminology:
    return load_meddra_ascii(FIXTURES / "MedAscii")


@pytest.fixture(scope="session")
def events_coder():
    return bundled_autocoder("events")


@pytest.fixture(scope="session")
def drugs_coder():
    return bundled_autocoder("drugs")
