"""Hostile input: mutated or truncated legacy images raise only xcformat's own errors, quickly."""

import os
import signal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import image
from helpers import read_all
from xcformat.errors import XcFormatError
from xcformat.formats import Hints
from xcformat.records import GuestType

SEEDS = [bytes(image.pv(64, 64)), bytes(image.pv(32, 32, ext=(), chunks=False)),
         bytes(image.hvm(32)), bytes(image.xl(image.hvm(64))),
         bytes(image.hvm(64, dev2007=True, qemu=b"QemuDeviceModelRecord")),
         bytes(image.pv(64, 32, checkpoints=2, before=image.tmem()))]


@st.composite
def damaged(draw):
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data) - 1))
        width = draw(st.sampled_from([1, 4, 8]))
        data[at:at + width] = draw(st.binary(min_size=width, max_size=width))
    if draw(st.booleans()):
        del data[draw(st.integers(0, len(data))):]
    return bytes(data)


#: A longer hunt: XCFORMAT_FUZZ_EXAMPLES=5000 pytest tests/legacy/test_legacy_fuzz.py
EXAMPLES = int(os.environ.get("XCFORMAT_FUZZ_EXAMPLES", "150"))


def _alarm(signum, frame):
    raise TimeoutError("reader took more than 5 s")


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=damaged(), guest=st.sampled_from([None, GuestType.PV, GuestType.HVM]))
def test_damaged_images_raise_only_xcformat_errors(tmp_path, data, guest):
    path = tmp_path / "fuzz.img"
    path.write_bytes(data)
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(5)
    try:
        read_all(path, Hints(guest=guest))
    except XcFormatError:
        pass
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
