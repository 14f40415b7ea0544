"""Development cross-check with the Xen project's own tools (skipped unless XCFORMAT_XEN_TOOLS
names a Xen tree's tools/python).  The tools are copied and the Python 3 fixes of
migration-v2.md §5 (bugs 1-3) applied to the copy at run time; nothing of Xen is committed."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from test_v2_write_read import CASES
from v2_helpers import read, write
from v2_legacy import legacy_hvm, legacy_pv

FIXTURES = Path(__file__).parent / "fixtures"
TOOLS = os.environ.get("XCFORMAT_XEN_TOOLS")
pytestmark = pytest.mark.skipif(not TOOLS, reason="XCFORMAT_XEN_TOOLS is not set")

FIXES = [  # (file, old, new): migration-v2.md §5 bugs 1, 2, 3
    ("scripts/verify-stream-v2", 'open_file_or_fd(opts.fin, "rb", 0)',
     'open_file_or_fd(opts.fin, "rb")'),
    ("xen/migration/xl.py", 'MAGIC = "', 'MAGIC = b"'),
    ("xen/migration/libxl.py", "if content[-1] != '\\x00':", "if content[-1:] != b'\\x00':"),
    ("xen/migration/libxl.py", 'parts = content[:-1].split("\\x00")',
     'parts = content[:-1].decode("ascii").split("\\x00")'),
]


@pytest.fixture(scope="module")
def xen(tmp_path_factory):
    root = tmp_path_factory.mktemp("xen") / "python"
    shutil.copytree(TOOLS, root)
    for name, old, new in FIXES:
        path = root / name
        text = path.read_text()
        path.write_text(text.replace(old, new))

    def run(script, *args):
        env = dict(os.environ, PYTHONPATH=str(root))
        return subprocess.run([sys.executable, str(root / "scripts" / script), *map(str, args)],
                              env=env, capture_output=True, text=True, timeout=120)
    return run


def layer_of(data: bytes) -> str:
    return "xl" if data.startswith(b"Xen saved") else "libxl" if data.startswith(b"Libxl") \
        else "libxc"


@pytest.mark.parametrize("case", CASES)
def test_verify_stream_v2_accepts_what_we_write(tmp_path, xen, case):
    make, options = CASES[case]
    data = write(tmp_path / "out", make(), **options)
    done = xen("verify-stream-v2", "-i", tmp_path / "out", "-f", layer_of(data))
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("name", ["xen-converted-pv.v2", "xen-converted-hvm.libxl"])
@pytest.mark.parametrize("options", [{"align": True}, {"wrap": "xl", "align": True},
                                     {"wrap": "libxl"}])
def test_verify_stream_v2_accepts_our_rewrites_of_xen_converted_streams(tmp_path, xen, name,
                                                                        options):
    records, _ = read(FIXTURES / name)
    data = write(tmp_path / "out", records, **options)
    done = xen("verify-stream-v2", "-i", tmp_path / "out", "-f", layer_of(data))
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("name,build,flags", [
    ("xen-converted-pv.v2", legacy_pv, ["-w", "64", "-g", "pv"]),
    ("xen-converted-hvm.libxl", legacy_hvm, ["-w", "64", "-g", "hvm", "-f", "libxl"]),
])
def test_the_fixtures_are_what_xens_converter_writes(tmp_path, xen, name, build, flags):
    (tmp_path / "legacy").write_bytes(build())
    done = xen("convert-legacy-stream", "-i", tmp_path / "legacy", "-o", tmp_path / "out",
               *flags)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out").read_bytes() == (FIXTURES / name).read_bytes()
