"""The VM harness without a VM: what dom0 can see of the host."""

from __future__ import annotations

import re
from pathlib import Path

from . import vm


def test_a_checkout_under_a_scratch_directory_of_dom0_is_refused_by_name(tmp_path):
    assert vm.hidden_from_dom0(Path("/tmp/clone")) == Path("/tmp")
    assert vm.hidden_from_dom0(Path("/var/lib/ci/xcformat")) == Path("/var/lib")
    assert vm.hidden_from_dom0(Path("/work/xcformat")) is None
    assert vm.hidden_from_dom0(Path("/tmpdir/xcformat")) is None


def test_the_scratch_directories_are_the_ones_dom0_init_mounts():
    init = (vm.HERE / "dom0-init.sh").read_text()
    loop = re.search(r"^for dir in (.*); do$", init, re.MULTILINE)
    assert loop, "dom0-init.sh mounts no scratch directories"
    mounted = loop.group(1).split()
    assert sorted(Path("/") / d for d in mounted) == sorted(vm.DOM0_SCRATCH)
