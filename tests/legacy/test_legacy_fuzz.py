"""Hostile input: mutated or truncated legacy images raise only xcformat's own errors, quickly."""

import os
import signal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import read_all
from xcformat.errors import XcFormatError
from xcformat.formats import Hints
from xcformat.records import GuestType
from xcformat.testing import legacy_images, mutations, truncations

#: A longer hunt: XCFORMAT_FUZZ_EXAMPLES=5000 pytest tests/legacy/test_legacy_fuzz.py
EXAMPLES = int(os.environ.get("XCFORMAT_FUZZ_EXAMPLES", "100"))
IMAGES = legacy_images(max_pages=24, max_vcpus=3)


def _alarm(signum, frame):
    raise TimeoutError("reader took more than 5 s")


def read_hostile(tmp_path, data: bytes, guest) -> None:
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


GUESTS = st.sampled_from([None, GuestType.PV, GuestType.HVM])
SETTINGS = settings(max_examples=EXAMPLES, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])


@SETTINGS
@given(data=IMAGES.flatmap(mutations), guest=GUESTS)
def test_mutated_images_raise_only_xcformat_errors(tmp_path, data, guest):
    read_hostile(tmp_path, data, guest)


@SETTINGS
@given(data=IMAGES.flatmap(truncations), guest=GUESTS)
def test_truncated_images_raise_only_xcformat_errors(tmp_path, data, guest):
    read_hostile(tmp_path, data, guest)
