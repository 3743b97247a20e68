"""The data folders that ship inside the package.

The repository keeps ``schemas/`` and ``dictionaries/`` at its top level, next to ``safety/``;
``pyproject.toml`` installs them as the packages ``safety.schemas`` and ``safety.dictionaries``.
Found through ``importlib.resources``, they are where the installed package is (an editable
install maps them back to the checkout), whatever the working directory.

They are the defaults of ``Settings.schemas_dir`` and ``Settings.dictionaries`` and of the
directory parameters of the domain functions that read them. A deployment points elsewhere
through the settings, never by changing these.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def package_folder(package: str) -> Path:
    """The folder of ``package`` on disk. The readers open files by path (csv, lxml, globbing),
    so a package that is not unpacked as files (imported from a zip) cannot serve them."""
    folder = resources.files(package)
    if not isinstance(folder, Path):
        raise RuntimeError(f"{package} is not installed as files on disk ({folder!r})")
    return folder


BUNDLED_SCHEMAS = package_folder("safety.schemas")
BUNDLED_DICTIONARIES = package_folder("safety.dictionaries")
