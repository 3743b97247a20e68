"""One configuration path: the data folders ship inside the package, and only
``safety/config.py`` reads the environment."""

from __future__ import annotations

import ast
import fnmatch
import re
import tomllib
from importlib import resources
from pathlib import Path

import pytest

from safety.config import ConfigError, Settings, child_env, load_settings, settings_env
from safety.package_data import BUNDLED_DICTIONARIES, BUNDLED_SCHEMAS

ROOT = Path(__file__).resolve().parents[2]
SAFETY = ROOT / "safety"
DATA_FOLDERS = {"safety.schemas": ROOT / "schemas", "safety.dictionaries": ROOT / "dictionaries"}
NOT_SHIPPED = {"README.md", "__init__.py"}
ENV_NAMES = {"environ", "environb", "getenv", "getenvb"}
CONFIG = SAFETY / "config.py"


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


# --- the settings of the data folders, the sender profile and the web sessions ---------------


def test_the_data_folders_default_to_the_bundled_ones() -> None:
    loaded = load_settings({})
    assert loaded.schemas_dir == BUNDLED_SCHEMAS
    assert loaded.dictionaries == BUNDLED_DICTIONARIES
    assert loaded.e2b_xsd_dir is None
    assert loaded.sender_profile is None
    assert (loaded.web_idle_minutes, loaded.web_max_session_hours) == (15, 8)


def test_path_settings_are_read_from_the_environment(tmp_path: Path) -> None:
    (tmp_path / "schemas").mkdir()
    (tmp_path / "dicts").mkdir()
    loaded = load_settings({
        "SAFETY_HOME": str(tmp_path / "home"),
        "SAFETY_SCHEMAS_DIR": str(tmp_path / "schemas"),
        "SAFETY_DICTIONARIES": str(tmp_path / "dicts"),
        "SAFETY_E2B_XSD_DIR": str(tmp_path / "xsd"),
        "SAFETY_SENDER_PROFILE": str(tmp_path / "org" / "sender.json"),
        "SAFETY_WEB_IDLE_MINUTES": "5",
        "SAFETY_WEB_MAX_SESSION_HOURS": "2",
    })
    assert loaded.schemas_dir == tmp_path / "schemas"
    assert loaded.dictionaries == tmp_path / "dicts"
    assert loaded.e2b_xsd_dir == tmp_path / "xsd"  # not required to exist: the checker says so
    assert loaded.sender_profile_path == tmp_path / "org" / "sender.json"
    assert (loaded.web_idle_minutes, loaded.web_max_session_hours) == (5, 2)
    # a child process given these variables loads the same settings
    assert load_settings(settings_env(loaded)) == loaded


def test_relative_paths_are_resolved_and_home_is_expanded(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "schemas").mkdir()
    loaded = load_settings({"SAFETY_SCHEMAS_DIR": "schemas", "SAFETY_E2B_XSD_DIR": "~/xsd"})
    assert loaded.schemas_dir == tmp_path / "schemas"
    assert loaded.e2b_xsd_dir == Path("~/xsd").expanduser()


def test_the_sender_profile_follows_home_unless_set(tmp_path: Path) -> None:
    loaded = Settings(home=tmp_path / "a")
    assert loaded.sender_profile_path == tmp_path / "a" / "sender.json"
    moved = loaded.with_overrides({"home": str(tmp_path / "b")})
    assert moved.sender_profile_path == tmp_path / "b" / "sender.json"
    fixed = moved.with_overrides({"sender_profile": str(tmp_path / "sender.json")})
    assert fixed.sender_profile == tmp_path / "sender.json"
    assert fixed.with_overrides({"home": tmp_path}).sender_profile_path == fixed.sender_profile


@pytest.mark.parametrize(("env", "message"), [
    ({"SAFETY_SCHEMAS_DIR": "/nowhere/schemas"}, "SAFETY_SCHEMAS_DIR '/nowhere/schemas' is not"),
    ({"SAFETY_DICTIONARIES": "/nowhere/dicts"}, "SAFETY_DICTIONARIES '/nowhere/dicts' is not"),
    ({"SAFETY_WEB_IDLE_MINUTES": "soon"}, "SAFETY_WEB_IDLE_MINUTES must be an integer"),
    ({"SAFETY_WEB_IDLE_MINUTES": "0"}, "SAFETY_WEB_IDLE_MINUTES must be a positive"),
    ({"SAFETY_WEB_MAX_SESSION_HOURS": "-1"}, "SAFETY_WEB_MAX_SESSION_HOURS must be a positive"),
    ({"SAFETY_TIMEZONE": "Mars/Olympus"}, "SAFETY_TIMEZONE 'Mars/Olympus'"),
    ({"SAFETY_FORWARDED_HOPS": "-1"}, "SAFETY_FORWARDED_HOPS must be 0 or more"),
    ({"SAFETY_WEB_SWITCH_INTERVAL_US": "-1"}, "SAFETY_WEB_SWITCH_INTERVAL_US must be 0"),
])
def test_a_bad_value_names_its_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_settings(env)


def test_secure_cookies_are_on_unless_testing_or_set_off(tmp_path: Path) -> None:
    """Unset, the cookies are Secure (production is https behind a proxy); the tests and
    ``safety serve`` on a loopback address (plain http) turn them off, as may an operator."""
    assert load_settings({}).secure_cookies is None
    assert load_settings({}).cookies_secure is True
    assert Settings(testing=True).cookies_secure is False
    assert load_settings({"SAFETY_SECURE_COOKIES": "0"}).cookies_secure is False
    on = load_settings({"SAFETY_SECURE_COOKIES": "1", "SAFETY_TESTING": "1"})
    assert on.cookies_secure is True
    off = Settings(home=tmp_path, secure_cookies=False, forwarded_hops=1)
    assert load_settings(settings_env(off)) == off  # what ``serve`` hands its children


def test_an_empty_variable_keeps_the_default() -> None:
    assert load_settings({"SAFETY_SCHEMAS_DIR": "", "SAFETY_SENDER_PROFILE": ""}) == \
        load_settings({})


def test_a_child_gets_the_settings_and_the_rest_of_the_environment(tmp_path: Path) -> None:
    """``safety serve`` starts its children with ``child_env``: SAFETY_* from the settings only
    (a stale or unknown SAFETY_ variable of the parent is not passed on), the rest as it is."""
    parent = {"PATH": "/usr/bin", "PGPASSWORD": "pw", "LANG": "C.UTF-8",
              "SAFETY_REDIS_URL": "redis://elsewhere:6379/0", "SAFETY_TYPO": "x"}
    loaded = Settings(home=tmp_path, redis_url="redis://127.0.0.1:6380/0", timezone="Europe/Paris")
    env = child_env(loaded, parent)
    assert {k: env[k] for k in ("PATH", "PGPASSWORD", "LANG")} == {
        "PATH": "/usr/bin", "PGPASSWORD": "pw", "LANG": "C.UTF-8"}
    assert {k: v for k, v in env.items() if k.startswith("SAFETY_")} == settings_env(loaded)
    assert load_settings(env) == loaded


# --- only safety/config.py reads the environment ----------------------------------------------


def environment_reads(source: str) -> list[int]:
    """Lines that read the process environment: ``os.environ``/``os.getenv`` (also through an
    alias of ``os``) and ``from os import environ/getenv``."""
    tree = ast.parse(source)
    aliases = {a.asname or a.name for node in ast.walk(tree) if isinstance(node, ast.Import)
               for a in node.names if a.name == "os"}
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ENV_NAMES and \
                isinstance(node.value, ast.Name) and node.value.id in aliases:
            lines.append(node.lineno)
        elif isinstance(node, ast.ImportFrom) and node.module == "os" and \
                any(a.name in ENV_NAMES for a in node.names):
            lines.append(node.lineno)
    return sorted(lines)


@pytest.mark.parametrize("source", [
    "import os\nx = os.environ.get('A')",
    "import os\nx = os.getenv('A')",
    "import os as o\nx = o.environ['A']",
    "from os import environ\n",
    "from os import getenv as g\n",
    "def f():\n    import os\n    return dict(os.environ)",
])
def test_the_check_finds_every_form_of_reading_the_environment(source: str) -> None:
    assert environment_reads(source)


def test_the_check_ignores_what_is_not_the_environment() -> None:
    assert environment_reads("import os\nos.register_at_fork(after_in_child=print)\n"
                             "environ = {}\nx = environ.get('A')\nsettings.environ") == []


def test_only_the_configuration_module_reads_the_environment() -> None:
    """Every other module receives its configuration (a Settings or the value it needs), so
    what a process does depends on what its entry point loaded, not on where it runs."""
    offenders = {}
    for path in sorted(SAFETY.rglob("*.py")):
        found = environment_reads(path.read_text("utf-8"))
        if found and path != CONFIG:
            offenders[str(path.relative_to(ROOT))] = found
    assert offenders == {}
    assert environment_reads(CONFIG.read_text("utf-8"))  # the check does see config.py
