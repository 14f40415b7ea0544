"""Every declared structure of legacy, v2, aligned and core round-trips through its schema.

Real images are written by the real writers (each format's, from synthetic legacy guests of
:mod:`xcformat.synth`; the dump layouts xcformat never writes by the hand-assembled builders of
``tests/core/old_dumps.py``) and read back by the real readers.  While they run, every parse
and build construct performs is recorded.  For each one of a structure the schemas declare (the
structure itself, or a run of its fields that a reader takes in one step, as ``codec.head`` cuts
it): the schema's build of the value the reader parsed is the bytes it read from the file, and
the schema's parse of the bytes a writer built gives back the values it built them from.

Every structure the reference documents must be met by a reader here, or be listed in
:data:`NOT_READ` with the reason: a new structure without a round-trip fails.
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path

import construct as c
import pytest

import xcformat
from xcformat.legacy import schema as legacy_schema
from xcformat.schema import REGISTRY
from xcformat.synth import GuestSpec, legacy_bytes

FORMATS = ("legacy", "v2", "aligned", "core")

#: Documented structures no reader here parses through its schema, and why.  (A structure that
#: is one field of raw bytes, a page or a blob, is taken as those bytes; a reader that takes part
#: of a structure through the schema, its count or head, and the rest in bulk, reads it.)
NOT_READ = {
    ("legacy", "batch_header_w32"): "bulk: a batch's count is a body item, its entries an array",
    ("legacy", "batch_header_w64"): "bulk: a batch's count is a body item, its entries an array",
    ("legacy", "p2m_frame_list_w32"): "bulk pfn array",
    ("legacy", "p2m_frame_list_w64"): "bulk pfn array",
    ("legacy", "ext_block_vcpu"): "read as an ext_block (head, then the payload its id names)",
    ("legacy", "ext_block_extv"): "read as an ext_block (head, then the payload its id names)",
    ("legacy", "pv_2007_ext_info"): "read as its tot, then as an ext_block",
    ("legacy", "hvm_2007_shared_info"): "four bytes kept as they are (an Opaque record)",
    ("legacy", "chunk_13"): "Remus compression: refused on read",
    ("legacy", "chunk_compressed_data_w32"): "Remus compression: refused on read",
    ("legacy", "chunk_compressed_data_w64"): "Remus compression: refused on read",
    ("legacy", "tmem_page"): "tmem pages: no sample holds one",
    ("legacy", "tmem_extra_entry"): "tmem: no sample holds one",
    ("core", "p2m-entry"): "bulk table",
    ("core", "pfn-entry"): "bulk table",
    ("core", "format-a-index"): "bulk MFN index",
    ("core", "hvm-hw-cpu-head"): "parsed from the input's HVM context when a dump is written",
    ("v2", "x86-cpuid-policy"): "v3 policies: kept as opaque bodies",
    ("v2", "x86-msr-policy"): "v3 policies: kept as opaque bodies",
    ("v2", "libxl-checkpoint-state"): "Remus/COLO only: never in a saved image",
}

#: Structures a reader meets in a writer's output that the writer does not build, because the
#: record it writes them from holds their bytes as they were read, and why.
PASSED_THROUGH = {
    ("legacy", "ext_block_xcnt"): "a PvExtInfo record holds its blocks' bytes",
    ("legacy", "tmem_header"): "tmem travels as an Opaque record",
    ("legacy", "tmem_pool"): "tmem travels as an Opaque record",
}
#: Structures a reader parses side by side to tell which one the bytes are: a writer builds one.
ALTERNATIVES = ({("core", "xen-version-desc-64"), ("core", "xen-version-desc-pv32")},)


def _builders():
    """tests/core/old_dumps.py, the independent writer of the dump layouts we never write."""
    here = Path(__file__).parent / "core"
    spec = importlib.util.spec_from_file_location("old_dumps", here / "old_dumps.py")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(here))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(here))
    return module


#: name -> (synthetic legacy guest, target format, convert options).
WRITTEN = {
    "legacy-pv64-xsave": (GuestSpec(xsave=True, vcpus=2, pages=16, special_pages=True),
                          "legacy", {}),
    "legacy-pv32-xl": (GuestSpec(toolstack_bits=32, vcpus=2, pages=16), "legacy", {"wrap": "xl"}),
    "legacy-hvm-params": (GuestSpec(guest="hvm", pages=16, vcpus=2, hvm_params={
        -3: 0xFEFFC000, -4: 0xFEFF0000, -8: 0xFEFFF, -10: 1}), "legacy", {}),
    "legacy-hvm-xend": (GuestSpec(guest="hvm", pages=16, variant="3.2", wrapper="xend"),
                        "legacy", {}),
    "legacy-hvm32": (GuestSpec(guest="hvm", toolstack_bits=32, pages=16), "legacy", {}),
    "legacy-hvm-2007": (GuestSpec(guest="hvm", pages=16, variant="2007-hvm"), "legacy", {}),
    "legacy-pv-2007": (GuestSpec(toolstack_bits=32, pages=16, variant="3.0.4-pae"),
                       "legacy", {}),
    "legacy-pv-verify-tmem": (GuestSpec(pages=16, verify=True, tmem=True), "legacy", {}),
    "legacy-remus": (GuestSpec(guest="hvm", pages=16, variant="remus", checkpoints=2),
                     "legacy", {}),
    "v2-pv-xl": (GuestSpec(xsave=True, vcpus=2, pages=16, wrapper="xl"), "v2", {"wrap": "xl"}),
    "v2-pv32": (GuestSpec(toolstack_bits=32, vcpus=2, pages=16), "v2", {}),
    "v2-hvm-libxl": (GuestSpec(guest="hvm", pages=16, vcpus=2, hvm_params={-3: 0xFEFFC000}),
                     "v2", {"wrap": "libxl"}),
    "aligned-pv": (GuestSpec(xsave=True, vcpus=2, pages=16), "aligned", {}),
    "aligned-hvm": (GuestSpec(guest="hvm", pages=16, vcpus=2), "aligned", {}),
    "core-pv64": (GuestSpec(vcpus=2, pages=16), "core", {}),
    "core-pv32": (GuestSpec(toolstack_bits=32, guest_bits=32, vcpus=2, pages=16), "core", {}),
    "core-hvm": (GuestSpec(guest="hvm", pages=16, vcpus=2), "core", {}),
}

#: name -> a function of old_dumps making a dump layout no xcformat writer produces.
ASSEMBLED = {
    "core-elf32": lambda b: b.build(range(8), elf_class=32, machine=3, tools_bits=32,
                                    stride=2800),
    "core-tools32": lambda b: b.build(range(8), machine=3, tools_bits=32, stride=2800),
    "core-format-a": lambda b: b.format_a(range(8)),
    **{f"aligned-frozen-{path.stem}": (lambda _, path=path: path.read_bytes())
       for path in sorted((Path(__file__).parent / "aligned" / "frozen").glob("*.xcal"))},
}


class _Seen:
    """The parses and builds construct performs, each with its bytes and value."""

    def __init__(self):
        self.parsed: list[tuple[c.Construct, bytes, object]] = []
        self.built: list[tuple[c.Construct, bytes, object]] = []

    def install(self, monkeypatch):
        seen = self
        parse_stream, build_stream = c.Construct.parse_stream, c.Construct.build_stream

        def parsing(struct, stream, **context):
            taken = _Taking(stream)
            value = parse_stream(struct, taken, **context)
            seen.parsed.append((struct, bytes(taken.bytes), value))
            return value

        def building(struct, obj, stream, **context):
            start = stream.tell()
            result = build_stream(struct, obj, stream, **context)
            end = stream.tell()
            stream.seek(start)
            seen.built.append((struct, stream.read(end - start), obj))
            return result

        monkeypatch.setattr(c.Construct, "parse_stream", parsing)
        monkeypatch.setattr(c.Construct, "build_stream", building)


class _Taking:
    """A stream that keeps what is read from it."""

    def __init__(self, stream):
        self._stream, self.bytes = stream, bytearray()

    def read(self, n=-1):
        data = self._stream.read(n)
        self.bytes += data
        return data

    def __getattr__(self, name):
        return getattr(self._stream, name)


def _declared():
    """(construct object -> the documented structures it is; field -> the structures it is
    a field of; (constant's type, value) -> the structures that are that constant alone)."""
    whole: dict[int, set] = {}
    by_field: dict[int, set] = {}
    constants: dict[tuple, set] = {}
    for key, entry in REGISTRY.items():
        if key[0] not in FORMATS or _raw(entry.struct):
            continue
        whole.setdefault(id(entry.struct), set()).add(key)
        fields = getattr(entry.struct, "subcons", ())
        for sub in fields:
            by_field.setdefault(id(sub), set()).add(key)
        if len(fields) == 1 and isinstance(_bare(fields[0]), c.Const):
            const = _bare(fields[0])
            constants.setdefault((id(const.subcon), const.value), set()).add(key)
    return whole, by_field, constants


def _bare(field):
    """A field without its name and doc."""
    while isinstance(field, c.Renamed):
        field = field.subcon
    return field


def _raw(struct) -> bool:
    """A structure that is one field of raw bytes (a page, a blob): its bytes are its value,
    so a reader that takes the bytes takes the structure."""
    fields = getattr(struct, "subcons", ())
    return len(fields) == 1 and (isinstance(_bare(fields[0]), c.Bytes)
                                 or _bare(fields[0]) is c.GreedyBytes)


def _structures_of(struct, value, before, declared) -> set:
    """The documented structures a parse of ``struct`` (giving ``value``, after a parse that
    gave ``before``) read: itself, a run of one structure's fields, or a lone constant."""
    whole, by_field, constants = declared
    if id(struct) in whole:
        return whole[id(struct)]
    subcons = getattr(struct, "subcons", None)
    if not isinstance(struct, c.Struct) or not subcons:
        return constants.get((id(struct), value), set())
    keys = set.intersection(*(by_field.get(id(sub), set()) for sub in subcons))
    runs = {key: _run_at(subcons, REGISTRY[key].struct.subcons) for key in keys}
    keys = {key for key, at in runs.items() if at is not None}
    if len({id(REGISTRY[key].struct) for key in keys}) > 1:
        # Fields shared by several structures (a chunk's payload after its id): the one whose
        # constant just before the run is what the parse before read.
        keys = {key for key in keys if runs[key] and _constant(
            REGISTRY[key].struct.subcons[runs[key] - 1]) == (True, before)}
    # One declaration documented in two formats (the xl wrapper's) is one structure.
    return keys if len({id(REGISTRY[key].struct) for key in keys}) == 1 else set()


def _declares(struct, declared) -> bool:
    """Whether ``struct`` is a documented structure or made of a documented one's fields."""
    whole, by_field, constants = declared
    subcons = getattr(struct, "subcons", None) if isinstance(struct, c.Struct) else None
    return id(struct) in whole or any(id(struct) == at for at, _ in constants) or (
        bool(subcons) and all(id(sub) in by_field for sub in subcons))


def _run_at(part, fields) -> int | None:
    """Where ``part`` stands in ``fields`` as a run, or None."""
    ids = [id(f) for f in fields]
    first = ids.index(id(part[0]))
    return first if ids[first:first + len(part)] == [id(p) for p in part] else None


def _constant(field) -> tuple[bool, object]:
    bare = _bare(field)
    return (True, bare.value) if isinstance(bare, c.Const) else (False, None)


def _agrees(given, parsed) -> bool:
    """Whether the values a writer gave are those parsed back (fields it left to the schema,
    constants and padding, and values that only size a field, are not compared)."""
    if isinstance(given, dict):
        return all(_agrees(v, parsed[k]) for k, v in given.items() if k in parsed)
    if isinstance(given, (list, tuple)) and isinstance(parsed, list):
        return len(given) == len(parsed) and all(map(_agrees, given, parsed))
    return given == parsed


def _check(seen: _Seen, declared, fmt: str, output: bytes | None = None):
    """Assert the round-trips of ``seen`` (and that what a writer of ``fmt`` built is in its
    ``output``); the documented structures of ``fmt`` its parses met, and those its builds made.
    (Sniffers try every format's first structure: only ``fmt``'s count.)"""
    read, before = set(), None
    for struct, data, value in seen.parsed:
        keys = _structures_of(struct, value, before, declared)
        before = value
        if keys:
            assert struct.build(value) == data, sorted(keys)
            read |= keys
    built = set()
    # A chunk's payload is built before its id: the build after it says which chunk it is.
    for (struct, data, value), after in zip(seen.built, [*seen.built[1:], (None, b"", None)]):
        if _declares(struct, declared):
            assert _agrees(value, struct.parse(data)), struct
            keys = _structures_of(struct, value, after[2], declared)
            if output is not None and any(key[0] == fmt for key in keys):
                assert data in output, sorted(keys)
            built |= keys
    return ({key for key in read if key[0] == fmt}, {key for key in built if key[0] == fmt})


def _read_through(path, monkeypatch, guest=None) -> _Seen:
    seen = _Seen()
    with monkeypatch.context() as patch:
        seen.install(patch)
        with xcformat.open(str(path), guest=guest) as image:
            image.info()
            image.validate()
    return seen


@dataclass
class _Image:
    """One image of the module: what its writer did (None: assembled here), what its reader
    did, and its bytes."""

    format: str
    writing: _Seen | None
    reading: _Seen
    data: bytes


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """name -> _Image, and the documented structures (see _declared)."""
    for bits in ((32, 32), (32, 64), (64, 32), (64, 64)):
        legacy_schema.structs(*bits)     # the width factories register on first use
    out, found = tmp_path_factory.mktemp("roundtrip"), {}
    monkeypatch = pytest.MonkeyPatch()
    for name, (spec, target, options) in WRITTEN.items():
        (out / f"{name}.in").write_bytes(legacy_bytes(spec))
        writing = _Seen()
        with monkeypatch.context() as patch:
            writing.install(patch)
            with xcformat.open(str(out / f"{name}.in"), guest=spec.guest) as image:
                image.convert(str(out / name), target, on_message=lambda _: None, **options)
        reading = _read_through(out / name, monkeypatch,
                                guest=spec.guest if target == "legacy" else None)
        found[name] = _Image(target, writing, reading, (out / name).read_bytes())
    builders = _builders()
    for name, make in ASSEMBLED.items():
        (out / name).write_bytes(make(builders))
        found[name] = _Image(name.split("-")[0], None, _read_through(out / name, monkeypatch),
                             (out / name).read_bytes())
    return found, _declared()


@pytest.mark.parametrize("name", sorted(WRITTEN) + sorted(ASSEMBLED))
def test_what_each_reader_parses_is_the_schema_build_of_its_value(images, name):
    found, declared = images
    image = found[name]
    read, _ = _check(image.reading, declared, image.format)
    assert read, f"{name}: no structure of {image.format} was read"


@pytest.mark.parametrize("name", sorted(WRITTEN))
def test_each_writer_builds_through_the_schema_what_its_reader_meets(images, name):
    found, declared = images
    image = found[name]
    read, _ = _check(image.reading, declared, image.format)
    _, built = _check(image.writing, declared, image.format, image.data)
    for alternatives in ALTERNATIVES:
        if read & alternatives and built & alternatives:
            read -= alternatives
    assert sorted(read - built - PASSED_THROUGH.keys()) == []


def test_every_documented_structure_is_read_back_as_its_schema_builds_it(images):
    found, declared = images
    documented = {key for key, entry in REGISTRY.items()
                  if key[0] in FORMATS and not _raw(entry.struct)}
    read = set().union(*(_check(image.reading, declared, image.format)[0]
                         for image in found.values()))
    assert not read & NOT_READ.keys(), "listed as not read, but read: update the list"
    assert sorted(documented - read - NOT_READ.keys()) == []
    assert NOT_READ.keys() <= documented
    assert PASSED_THROUGH.keys() <= documented
