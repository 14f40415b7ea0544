"""The build backend: setuptools, with its build and egg-info directories in a temporary
directory, so that ``pip install .`` leaves no ``build/`` or ``*.egg-info`` in the checkout, and
with the cffi module of xcformat/io/libc_declarations.py generated before every build.

setuptools reads one more configuration file named by ``DIST_EXTRA_CONFIG`` after the project's
own; that file moves ``build_base`` and ``egg_base``.  Editable installs are setuptools' own but
for the generated module, written into the checkout they run from.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import tempfile
from collections.abc import Iterator
from unittest import mock

from setuptools import build_meta
from setuptools.build_meta import *  # noqa: F401,F403  (every hook this module does not wrap)


@contextlib.contextmanager
def _outside_the_checkout() -> Iterator[None]:
    with tempfile.TemporaryDirectory(prefix="xcformat-build-") as work:
        config = os.path.join(work, "setup.cfg")
        with open(config, "w") as file:
            file.write(f"[build]\nbuild_base = {work}/build\n[egg_info]\negg_base = {work}\n")
        with mock.patch.dict(os.environ, DIST_EXTRA_CONFIG=config):
            yield


def _generate_libc_module() -> None:
    """Write xcformat/io/_libc.py (the file is loaded by path: the package cannot be imported
    before the module exists)."""
    spec = importlib.util.spec_from_file_location(
        "libc_declarations", os.path.join("xcformat", "io", "libc_declarations.py"))
    declarations = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(declarations)
    declarations.emit()


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    _generate_libc_module()
    with _outside_the_checkout():
        return build_meta.build_wheel(wheel_directory, config_settings, metadata_directory)


def build_sdist(sdist_directory, config_settings=None):
    _generate_libc_module()
    with _outside_the_checkout():
        return build_meta.build_sdist(sdist_directory, config_settings)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    _generate_libc_module()
    return build_meta.build_editable(wheel_directory, config_settings, metadata_directory)


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    with _outside_the_checkout():
        return build_meta.prepare_metadata_for_build_wheel(metadata_directory, config_settings)


def get_requires_for_build_wheel(config_settings=None):
    with _outside_the_checkout():
        return build_meta.get_requires_for_build_wheel(config_settings)


def get_requires_for_build_sdist(config_settings=None):
    with _outside_the_checkout():
        return build_meta.get_requires_for_build_sdist(config_settings)
