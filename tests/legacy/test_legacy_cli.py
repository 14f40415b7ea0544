"""info / validate / convert on real legacy files, end to end through the command line."""

import json
import struct
import subprocess
import sys

from xcformat.synth import GuestSpec, expected, legacy_bytes

CLI = [sys.executable, "-m", "xcformat"]


def run(*args):
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, timeout=60)


def test_info_json_on_an_xl_pv_file(tmp_path):
    spec = GuestSpec(guest_bits=32, wrapper="xl", vcpus=(0, 1, 3), pages=24, xsave=True)
    path = tmp_path / "guest.save"
    path.write_bytes(legacy_bytes(spec))
    done = run("info", path, "--json")
    assert done.returncode == 0, done.stderr
    facts = json.loads(done.stdout)
    want = expected(spec)
    assert facts["format"] == "legacy"
    assert facts["wrapper"] == "xl"
    assert facts["guest"] == "pv"
    assert (facts["toolstack_width"], facts["guest_width"]) == (64, 32)
    assert facts["pages"] == want.pages and facts["page_records"] == want.page_records
    assert facts["vcpus"] == 3
    assert facts["p2m_size"] == want.p2m_size
    assert facts["min_xen_version"] == want.min_xen_version == "4.5"
    assert facts["chunks"] == {"-2 VCPU_INFO": 1, "-7 TSC_INFO": 1, "-9 LAST_CHECKPOINT": 1,
                               "-18 TOOLSTACK": 1}


def test_info_json_on_an_hvm_file_counts_vcpus_from_the_context(tmp_path):
    spec = GuestSpec(guest="hvm", toolstack_bits=32, variant="3.2", wrapper="xend", vcpus=2,
                     pages=24)
    path = tmp_path / "hvm.save"
    path.write_bytes(legacy_bytes(spec))
    facts = json.loads(run("info", path, "--json", "--guest", "hvm").stdout)
    assert (facts["wrapper"], facts["guest"], facts["toolstack_width"]) == ("xend", "hvm", 32)
    assert facts["guest_width"] is None
    assert facts["vcpus"] == 2 and facts["page_records"] == expected(spec).page_records
    assert facts["pages"] == expected(spec).pages
    assert facts["min_xen_version"] == "3.1"


def test_validate_exit_codes(tmp_path):
    spec = GuestSpec(toolstack_bits=32, pages=16)
    good = tmp_path / "good.img"
    good.write_bytes(legacy_bytes(spec))
    assert run("validate", good).returncode == 0
    data = bytearray(good.read_bytes())
    batch = expected(spec).first_batch_offset
    struct.pack_into("<i", data, batch, 2000)
    bad = tmp_path / "bad.img"
    bad.write_bytes(bytes(data))
    done = run("validate", bad, "--json")
    assert done.returncode == 1
    finding = json.loads(done.stdout)["findings"][0]
    assert (finding["offset"], finding["field"]) == (batch, "batch.count")
    assert run("validate", tmp_path / "missing.img").returncode == 2


def test_undecidable_guest_type_asks_for_a_hint(tmp_path):
    path = tmp_path / "old.img"
    path.write_bytes(legacy_bytes(GuestSpec(variant="3.0", pages=16)))
    done = run("info", path)
    assert done.returncode == 2 and "--guest" in done.stderr and "Traceback" not in done.stderr
    assert run("info", path, "--guest", "pv").returncode == 0


def test_convert_to_legacy_is_byte_identical_and_bad_input_gives_one_line(tmp_path):
    path = tmp_path / "in.save"
    path.write_bytes(legacy_bytes(GuestSpec(guest="hvm", wrapper="xl", pages=24)))
    done = run("convert", path, tmp_path / "out.save", "--to", "legacy", "--no-progress")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out.save").read_bytes() == path.read_bytes()
    path.write_bytes(path.read_bytes()[:-30])
    done = run("convert", path, tmp_path / "out2.save", "--to", "legacy")
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "offset" in done.stderr and "field" in done.stderr
    assert not (tmp_path / "out2.save").exists()
