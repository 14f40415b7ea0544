"""A command imports what it runs and not the other commands' dependencies, and not the test
strategies: start-up is part of every conversion's time (see the benchmarks)."""

import subprocess
import sys

from xcformat.synth import GuestSpec, legacy_bytes

PROBE = """
import sys
from xcformat.cli import main
code = main(sys.argv[1:])
print(" ".join(sorted(sys.modules)))
sys.exit(code)
"""


def modules_loaded_by(*args) -> set[str]:
    done = subprocess.run([sys.executable, "-c", PROBE, *map(str, args)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return set(done.stdout.split("\n")[-2].split())


def test_validate_loads_neither_other_commands_nor_hypothesis(tmp_path):
    path = tmp_path / "guest.save"
    path.write_bytes(legacy_bytes(GuestSpec(pages=24)))
    loaded = modules_loaded_by("validate", path)
    assert "xcformat.cli.validate" in loaded and "xcformat.legacy.reader" in loaded
    for absent in ("xcformat.cli.send", "xcformat.cli.map", "xcformat.negotiate.sender",
                   "xcformat.layoutmap", "hypothesis", "xcformat.testing", "shtab",
                   "tqdm"):
        assert absent not in loaded, absent


def test_an_unknown_command_still_lists_every_command():
    done = subprocess.run([sys.executable, "-m", "xcformat", "bogus"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2
    assert all(name in done.stderr for name in ("info", "validate", "convert", "page", "map",
                                                "send", "receive"))


def test_top_level_help_before_a_command_lists_every_command():
    done = subprocess.run([sys.executable, "-m", "xcformat", "-h", "validate"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    assert all(name in done.stdout for name in ("info", "convert", "map", "send", "receive"))
