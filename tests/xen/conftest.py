"""Fixtures that boot the real Xen (twice per session) for the tests marked ``xen_vm``.

Booting takes minutes, so these tests run only when asked: ``XCFORMAT_XENVM=1`` (set by
``.ci/run`` and ``tools/xenvm test``).  Where QEMU cannot start they skip, saying why.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from . import scenario, vm
from .components import Unavailable

TIMINGS: dict[str, float] = {}


def pytest_collection_modifyitems(items):
    if os.environ.get("XCFORMAT_XENVM") == "1":
        return
    skip = pytest.mark.skip(reason="boots a real Xen in QEMU for minutes: set XCFORMAT_XENVM=1"
                                   " (.ci/run does) or run ./tools/xenvm test")
    for item in items:
        if "xen_vm" in item.keywords:
            item.add_marker(skip)


def _boot(name: str, script: str, job, **kwargs) -> vm.Result:
    """Run one boot; XCFORMAT_XENVM_REUSE_<NAME>=DIR takes an earlier job directory instead."""
    earlier = os.environ.get(f"XCFORMAT_XENVM_REUSE_{name.upper()}")
    if earlier:
        return vm.Result.load(Path(earlier))
    try:
        result = vm.run(script, job, **kwargs)
    except Unavailable as why:
        pytest.skip(f"the real-Xen VM cannot run here: {why}")
    TIMINGS[name] = result.seconds
    if result.timed_out or result.rc != 0:
        pytest.fail(f"{name}: rc={result.rc} timed_out={result.timed_out} after"
                    f" {result.seconds:.0f} s\n{result.tail()}", pytrace=False)
    return result


@pytest.fixture(scope="session")
def boot1(tmp_path_factory) -> vm.Result:
    """Guest started, saved (xl save -p), dumped (xl dump-core), run on, original restored."""
    return _boot("boot1", scenario.BOOT1, tmp_path_factory.mktemp("xenvm-boot1"), timeout=900)


@pytest.fixture(scope="session")
def real_save(boot1):
    return boot1.out / "guest.save"


@pytest.fixture(scope="session")
def real_dump(boot1):
    return boot1.out / "guest.core"


@pytest.fixture(scope="session")
def saved_tick(boot1) -> int:
    return int((boot1.out / "saved-tick").read_text())


@pytest.fixture(scope="session")
def pattern_md5(boot1) -> str:
    return scenario.original_md5(boot1.console(scenario.GUEST))


@pytest.fixture(scope="session")
def outputs(real_save, tmp_path_factory):
    """({output name: path}, {output name: why it could not be made}), made on the host."""
    directory = tmp_path_factory.mktemp("xenvm-outputs")
    start = time.monotonic()
    errors = scenario.build_outputs(real_save, directory)
    TIMINGS["host conversions"] = time.monotonic() - start
    return directory, errors


@pytest.fixture(scope="session")
def boot2(outputs, tmp_path_factory) -> vm.Result:
    """Every output that could be made, restored in turn by xl restore."""
    directory, errors = outputs
    wanted = [o for o in scenario.OUTPUTS if o.name not in errors]
    inputs = {o.name: directory / o.name for o in wanted if not o.piped}
    inputs["aligned"] = directory / "aligned"
    return _boot("boot2", scenario.boot2_script(wanted), tmp_path_factory.mktemp("xenvm-boot2"),
                 inputs=inputs, timeout=1500)


@pytest.fixture(scope="session")
def pvh_boot(tmp_path_factory) -> vm.Result:
    """An HVM (PVH) guest saved, then restored from Xen's save and from xcformat's v2 --align."""
    return _boot("pvh", scenario.PVH_BOOT, tmp_path_factory.mktemp("xenvm-pvh"), timeout=900,
                 cpu=scenario.HVM_CPU)


@pytest.fixture(scope="session")
def xl_commands_boot(tmp_path_factory) -> vm.Result:
    """xcformat save, restore and dump of the counting guest, in dom0, onto an ext4 disk."""
    job = tmp_path_factory.mktemp("xenvm-xl-commands")
    disk = scenario.ext4_disk(tmp_path_factory.mktemp("xenvm-disk") / "disk.img")
    try:
        return _boot("xl-commands", scenario.XL_COMMANDS_BOOT, job, timeout=2400, disks=[disk])
    finally:
        disk.unlink(missing_ok=True)


def pytest_terminal_summary(terminalreporter):
    if TIMINGS:
        terminalreporter.write_line("real Xen timings: " + ", ".join(
            f"{name} {seconds:.0f} s" for name, seconds in TIMINGS.items()))
