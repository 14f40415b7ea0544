"""Packaging: the sdist holds what it takes to test and document the package, the wheel carries
the license, ``py.typed`` and the cffi module the build generates, and building (as ``pip
install .`` does) leaves the checkout clean."""

from __future__ import annotations

import email
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LEFT_OUT = shutil.ignore_patterns(".venv", ".git", "__pycache__", "_build", "_generated",
                                  "*.egg-info", "build", "dist", ".hypothesis", ".pytest_cache",
                                  "bench-results", ".mypy_cache", "_libc.py")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def checkout(tmp_path_factory) -> Path:
    """A copy of this source tree, as a fresh clone has it."""
    copy = tmp_path_factory.mktemp("packaging") / "xcformat"
    shutil.copytree(ROOT, copy, ignore=LEFT_OUT)
    return copy


def build(checkout: Path, *command: str) -> None:
    done = subprocess.run([sys.executable, "-m", *command], cwd=checkout, capture_output=True,
                          text=True, timeout=300)
    if done.returncode and "No matching distribution" in done.stderr + done.stdout:
        pytest.skip("no package index to fetch the build backend from")
    assert done.returncode == 0, done.stderr[-2000:]


def leftovers(checkout: Path) -> list[str]:
    return sorted(p.name for p in checkout.iterdir()
                  if p.name == "build" or p.name.endswith(".egg-info"))


def test_the_sdist_holds_tests_docs_spec_and_license(checkout, tmp_path):
    build(checkout, "build", "--sdist", "--outdir", str(tmp_path))
    (sdist,) = tmp_path.glob("xcformat-*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    for wanted in ("LICENSE", "README.md", "tests/test_api.py", "docs/conf.py", "docs/api.rst",
                   "spec/legacy.md", "tools/test", "tools/build_backend.py", "xcformat/py.typed",
                   "xcformat/io/_libc.py"):
        assert wanted in names, wanted
    assert not [n for n in names if "__pycache__" in n or n.startswith("docs/_build")]
    assert leftovers(checkout) == []


def test_building_a_wheel_leaves_no_build_directory_and_carries_license_and_types(checkout,
                                                                                   tmp_path):
    build(checkout, "pip", "wheel", "--no-deps", "--wheel-dir", str(tmp_path), ".")
    assert leftovers(checkout) == []
    (wheel,) = tmp_path.glob("xcformat-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = email.message_from_bytes(archive.read(
            next(n for n in names if n.endswith(".dist-info/METADATA"))))
    assert "xcformat/py.typed" in names
    assert "xcformat/io/_libc.py" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert metadata["License-Expression"] == "MIT"
    assert "License" not in metadata          # the deprecated field is not written
    assert len(metadata.get_all("Classifier")) > 5
    runtime = [r for r in metadata.get_all("Requires-Dist") if "extra ==" not in r]
    assert not [r for r in runtime if r.startswith("hypothesis")]
    assert any(r.startswith("hypothesis") and 'extra == "testing"' in r
               for r in metadata.get_all("Requires-Dist"))


def test_the_installed_cffi_module_is_made_from_the_current_declarations(tmp_path):
    """An edited declaration takes effect only through a new install (tools/_bootstrap does it
    when the file changes): the module the package loads must match what the build makes now."""
    from xcformat.io import libc_declarations

    libc_declarations.emit(tmp_path / "_libc.py")
    assert libc_declarations.GENERATED.read_text() == (tmp_path / "_libc.py").read_text()
