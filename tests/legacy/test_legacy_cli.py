"""info / validate / convert on real legacy files, end to end through the console script."""

import json
import struct
import subprocess
import sys

import image

CLI = [sys.executable, "-m", "xcformat"]


def run(*args):
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, timeout=60)


def test_info_json_on_an_xl_pv_file(tmp_path):
    path = tmp_path / "guest.save"
    path.write_bytes(bytes(image.xl(image.pv(64, 32, vcpus=(0, 1, 3)))))
    done = run("info", path, "--json")
    assert done.returncode == 0, done.stderr
    facts = json.loads(done.stdout)
    assert facts["format"] == "legacy"
    assert facts["wrapper"] == "xl"
    assert facts["guest"] == "pv"
    assert (facts["toolstack_width"], facts["guest_width"]) == (64, 32)
    assert facts["pages"] == 5 and facts["vcpus"] == 3 and facts["p2m_size"] == 16
    assert facts["min_xen_version"] == "4.2"
    assert facts["chunks"] == {"-2 VCPU_INFO": 1, "-7 TSC_INFO": 1, "-9 LAST_CHECKPOINT": 1,
                               "-18 TOOLSTACK": 1}


def test_info_json_on_an_hvm_file_counts_vcpus_from_the_context(tmp_path):
    path = tmp_path / "hvm.save"
    path.write_bytes(bytes(image.xend(image.hvm(32, qemu=b"QemuDeviceModelRecord"))))
    facts = json.loads(run("info", path, "--json").stdout)
    assert (facts["wrapper"], facts["guest"], facts["toolstack_width"]) == ("xend", "hvm", 32)
    assert facts["guest_width"] is None
    assert facts["vcpus"] == 2 and facts["pages"] == 2


def test_validate_exit_codes(tmp_path):
    good = tmp_path / "good.img"
    good.write_bytes(bytes(image.pv(32, 32)))
    assert run("validate", good).returncode == 0
    bad = tmp_path / "bad.img"
    img = image.pv(32, 32)
    data = bytearray(img.data)
    struct.pack_into("<i", data, img.at["batch"], 2000)
    bad.write_bytes(bytes(data))
    done = run("validate", bad, "--json")
    assert done.returncode == 1
    finding = json.loads(done.stdout)["findings"][0]
    assert (finding["offset"], finding["field"]) == (img.at["batch"], "batch.count")
    assert run("validate", tmp_path / "missing.img").returncode == 2


def test_undecidable_guest_type_asks_for_a_hint(tmp_path):
    path = tmp_path / "old.img"
    path.write_bytes(bytes(image.pv(64, 64, ext=(), chunks=False)))
    done = run("info", path)
    assert done.returncode == 2 and "--guest" in done.stderr and "Traceback" not in done.stderr
    assert run("info", path, "--guest", "pv").returncode == 0


def test_convert_to_legacy_is_byte_identical_and_bad_input_gives_one_line(tmp_path):
    path = tmp_path / "in.save"
    path.write_bytes(bytes(image.xl(image.hvm(64))))
    done = run("convert", path, tmp_path / "out.save", "--to", "legacy", "--no-progress")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out.save").read_bytes() == path.read_bytes()
    path.write_bytes(path.read_bytes()[:-30])
    done = run("convert", path, tmp_path / "out2.save", "--to", "legacy")
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "offset" in done.stderr and "field" in done.stderr
    assert not (tmp_path / "out2.save").exists()
