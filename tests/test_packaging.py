"""The wheel a user installs ships every module and data file of the package."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest_backupnet

PACKAGE = Path(pytest_backupnet.__file__).resolve().parent
REPO = PACKAGE.parent


def test_wheel_ships_every_module_profile_and_schema(tmp_path: Path) -> None:
    # Built as `pip install .` builds it, from a copy without a stale build/ folder to leak files.
    source = tmp_path / "source"
    shutil.copytree(REPO, source, symlinks=True, ignore=shutil.ignore_patterns(
        "build", "*.egg-info", ".git", "__pycache__", ".*_cache"))  # fmt: skip
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(source)],
        check=True, capture_output=True,
    )  # fmt: skip
    [wheel] = tmp_path.glob("pytest_backupnet-*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    wanted = {
        str(path.relative_to(REPO))
        for path in PACKAGE.rglob("*")
        if path.is_file()
        and path.suffix in (".py", ".yaml", ".json", ".sh")
        and "__pycache__" not in path.parts
    }
    assert wanted - shipped == set()
    assert {"pytest_backupnet/profiles/commercial.yaml", "pytest_backupnet/profile.schema.json"} <= wanted
    entry_points = next(n for n in shipped if n.endswith("entry_points.txt"))
    assert "backupnet = pytest_backupnet.plugin" in zipfile.ZipFile(wheel).read(entry_points).decode()
