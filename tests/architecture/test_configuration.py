"""One configuration path: the data folders ship inside the package, and only
``safety/config.py`` reads the environment."""

from __future__ import annotations

import fnmatch
import tomllib
from importlib import resources
from pathlib import Path

from safety.package_data import BUNDLED_DICTIONARIES, BUNDLED_SCHEMAS

ROOT = Path(__file__).resolve().parents[2]
SAFETY = ROOT / "safety"
DATA_FOLDERS = {"safety.schemas": ROOT / "schemas", "safety.dictionaries": ROOT / "dictionaries"}
NOT_SHIPPED = {"README.md", "__init__.py"}


def _setuptools() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["setuptools"]


def _folders(top: Path, package: str) -> set[str]:
    return {".".join([package, *d.relative_to(top).parts]) for d in [top, *top.rglob("*")]
            if d.is_dir() and d.name != "__pycache__"}


def test_every_folder_of_the_package_and_the_data_folders_is_installed() -> None:
    """The package list is explicit (the data folders are mapped in), so a new folder under
    safety/ must be added to it or its files would be left out of a regular install."""
    wanted = _folders(SAFETY, "safety")
    for package, folder in DATA_FOLDERS.items():
        wanted |= _folders(folder, package)
    assert set(_setuptools()["packages"]) == wanted


def test_the_data_folders_are_mapped_into_the_package() -> None:
    mapping = _setuptools()["package-dir"]
    for package, folder in DATA_FOLDERS.items():
        assert mapping[package] == folder.name


def test_every_run_time_data_file_is_package_data() -> None:
    patterns = _setuptools()["package-data"]["*"]
    for folder in DATA_FOLDERS.values():
        for f in folder.rglob("*"):
            if f.is_file() and f.name not in NOT_SHIPPED and "__pycache__" not in f.parts:
                assert any(fnmatch.fnmatch(f.name, p) for p in patterns), f


def test_the_bundled_folders_are_found_through_the_package() -> None:
    assert BUNDLED_SCHEMAS == resources.files("safety.schemas")
    assert BUNDLED_DICTIONARIES == resources.files("safety.dictionaries")
    assert (BUNDLED_SCHEMAS / "e2b-structure.json").is_file()
    assert (BUNDLED_DICTIONARIES / "curation" / "autocoder_thresholds.json").is_file()
