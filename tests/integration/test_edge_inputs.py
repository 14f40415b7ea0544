"""Small things at the edges: JSON closed whatever the exit, bytes too short to need --guest,
validate and receive agreeing on a cut device-model record, a broken environment, empty input."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import threading

import pytest

from xcformat import synth
from xcformat.errors import XcFormatError
from xcformat.negotiate.receiver import ReceiveSettings, receive_from_pipe
from xcformat.synth.variants import VARIANTS

from .cli_runner import xcformat

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

#: A legacy stream (W=64, p2m_size 0x100) whose first body word, a small batch count, fits
#: both an HVM stream and a pre-3.2 PV stream without extended info.
AMBIGUOUS_START = struct.pack("<QQ", 0x100, 5)


def test_map_json_all_is_closed_when_a_hint_is_missing(tmp_path):
    path = tmp_path / "ambiguous"
    path.write_bytes(AMBIGUOUS_START + bytes(8192))     # long enough to be either
    result = xcformat("map", path, "--json", "--all")
    assert result.code == 2
    parsed = json.loads(result.stdout)                   # the whole document, closed
    assert "say --guest" in parsed["error"] and parsed["regions"] == []
    assert "say --guest" in result.stderr


@pytest.mark.parametrize("command", [("validate",), ("info",), ("map", "--json"),
                                     ("convert", "OUT", "--to", "v2")])
def test_bytes_too_short_for_either_guest_type_are_invalid_not_a_missing_hint(tmp_path,
                                                                               command):
    path = tmp_path / "short"
    for blob in (AMBIGUOUS_START, AMBIGUOUS_START + bytes(4000)):
        path.write_bytes(blob)
        argv = [tmp_path / "out" if arg == "OUT" else arg for arg in command]
        result = xcformat(argv[0], path, *argv[1:])
        assert result.code == 1, result.output
        assert "--guest" not in result.output and "Traceback" not in result.output
        assert not (tmp_path / "out").exists()


def test_a_long_ambiguous_stream_still_asks_for_the_hint(tmp_path):
    path = tmp_path / "ambiguous"
    path.write_bytes(AMBIGUOUS_START + bytes(8192))
    result = xcformat("validate", path)
    assert result.code == 2 and "say --guest" in result.stderr


def _receive(data: bytes, out) -> int:
    """``xcformat receive --listen - OUT`` with ``data`` on a pipe: the exit code."""
    read, write = os.pipe()

    def feed():
        try:
            with os.fdopen(write, "wb") as pipe:
                pipe.write(data)
        except BrokenPipeError:
            pass                   # the receiver stopped reading at the damage
    feeder = threading.Thread(target=feed)
    feeder.start()
    try:
        receive_from_pipe(read, "<stdin>", str(out), ReceiveSettings())
        return 0
    except XcFormatError as exc:
        return exc.exit_code
    finally:
        os.close(read)
        feeder.join()


HVM_IMAGES = [(name, qemu) for name, variant in sorted(VARIANTS.items())
              if "hvm" in variant.guests
              for qemu in sorted(filter(None, variant.qemu_allowed))]


@pytest.mark.parametrize("variant, qemu", HVM_IMAGES)
def test_validate_and_receive_agree_on_a_cut_device_model_record(tmp_path, variant, qemu):
    image = tmp_path / "hvm.img"
    synth.write_legacy(synth.GuestSpec(variant=variant, guest="hvm", pages=16, qemu=qemu),
                       image)
    data = image.read_bytes()
    record = data.rindex(qemu.encode())
    cut = tmp_path / "cut.img"
    # In the signature, in the length, in the state, one byte short.
    for keep in (record + 7, record + 23, (record + len(data)) // 2, len(data) - 1):
        cut.write_bytes(data[:keep])
        validated = xcformat("validate", cut).code
        received = _receive(data[:keep], tmp_path / "out")
        assert validated == received, (keep - record, validated, received)
        assert os.path.exists(tmp_path / "out") == (received == 0)
        if os.path.exists(tmp_path / "out"):
            os.unlink(tmp_path / "out")


def test_a_missing_cffi_backend_is_an_environment_error(tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "_cffi_backend.py").write_text(
        'raise ImportError("libffi.so.8: cannot open shared object file")\n')
    image = tmp_path / "in.img"
    synth.write_legacy(synth.GuestSpec(pages=16), image)
    done = subprocess.run([sys.executable, "-m", "xcformat", "info", str(image)],
                          capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": f"{broken}:{ROOT}"})
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("xcformat: cannot load what it needs (libffi.so.8")


def test_empty_standard_input_says_it_is_empty():
    done = subprocess.run([sys.executable, "-m", "xcformat", "info", "-"], capture_output=True,
                          text=True, cwd=ROOT, stdin=subprocess.DEVNULL)
    assert done.returncode == 1
    assert "the input is empty" in done.stderr and "first bytes" not in done.stderr


def _first_page_data_entry(v2: bytes) -> int:
    """The offset of the first pfn entry of the first PAGE_DATA record of a bare v2 stream."""
    at = 24 + 16                                  # image header, domain header
    while True:
        kind, length = struct.unpack_from("<II", v2, at)
        if kind == 0x01:                          # PAGE_DATA: u32 count, u32 pad, entries
            return at + 8 + 8
        at += 8 + -(-length // 8) * 8


def test_receive_refuses_what_validate_calls_invalid(tmp_path):
    """A reader may note an error and read on (a pfn beyond the p2m); receive must not store
    such an image any more than validate passes it."""
    legacy = tmp_path / "in.img"
    synth.write_legacy(synth.GuestSpec(pages=16), legacy)
    v2 = tmp_path / "in.v2"
    assert xcformat("convert", legacy, v2, "--to", "v2", "--no-progress").code == 0
    data = bytearray(v2.read_bytes())
    entry = _first_page_data_entry(bytes(data))
    word = struct.unpack_from("<Q", data, entry)[0]
    struct.pack_into("<Q", data, entry, word | 0x4e00)    # a pfn far beyond the p2m
    v2.write_bytes(data)
    validated = xcformat("validate", v2)
    assert validated.code == 1 and "beyond the p2m" in validated.output
    assert _receive(bytes(data), tmp_path / "out") == 1
    assert not (tmp_path / "out").exists()
