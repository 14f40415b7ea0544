"""What the parts of the legacy reader share: the source, findings, regions, stream facts."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from .. import codec
from ..errors import Finding, FormatError, recover
from ..io import Source
from ..regions import Region, RegionSink
from ..pfnmap import PfnMap
from ..records import GuestType
from .schema import LegacyStructs
from .versions import VersionBounds

NOT_SENT = 0xFF
#: The type map's chunks: 64 pfns (64 bytes) each, so that even entries that carry no page
#: (BROKEN, XALLOC: 4 or 8 bytes of file each) cost memory in proportion to the file.
TYPE_MAP_CHUNK_BITS = 6


class Cursor:
    """The source wrapped with error, finding and region helpers."""

    def __init__(self, source: Source, findings: list[Finding], on_region: RegionSink | None,
                 keep_going: bool = False):
        self.source = source
        self.findings = findings
        self.on_region = on_region
        #: Report wrong values whose size is fixed, and read on (a validator sets it).
        self.keep_going = keep_going

    @property
    def offset(self) -> int:
        return self.source.offset

    def read(self, n: int, field: str) -> memoryview:
        return self.source.read(n, field)

    def parse(self, struct, what: str):
        """``struct`` read here through its schema; errors name ``what`` and the field."""
        return codec.read(struct, self.source, what,
                          lambda error: recover(error, self.findings, self.keep_going))

    def remaining(self) -> int | None:
        """Bytes left in the input, where its size is known."""
        size = self.source.size
        return None if size is None else size - self.source.offset

    def check_fits(self, n: int, field: str) -> None:
        """Refuse a declared size larger than what is left of the file (before allocating)."""
        left = self.remaining()
        if left is not None and n > left:
            raise self.source.error(f"{field} declares {n} bytes but only {left} remain", field)

    def error(self, message: str, field: str, offset: int | None = None) -> FormatError:
        return self.source.error(message, field, offset)

    def problem(self, message: str, field: str, offset: int | None = None) -> None:
        """A wrong value that leaves the framing intact: raised, or with ``keep_going``
        reported as an error while reading goes on."""
        recover(self.error(message, field, offset), self.findings, self.keep_going)

    def warn(self, message: str, field: str, offset: int | None = None) -> None:
        self.findings.append(Finding("warning", message,
                                     self.offset if offset is None else offset, field))

    def region(self, start: int, kind: str, label: str) -> None:
        if self.on_region is not None and self.source.offset > start:
            self.on_region(Region(start, self.source.offset - start, kind, label))


@dataclass
class Stream:
    """Facts about the stream established so far, shared by the header, body and tail parsers."""

    guest: GuestType
    structs: LegacyStructs
    p2m_size: int
    ext_ids: tuple[bytes, ...] = ()
    frames: tuple[int, ...] = ()             #: PV p2m frame list, checked after each body
    frames_offset: int = 0
    xsave_record_size: int | None = None     #: the "xcnt" value
    type_map: PfnMap | None = None           #: last type sent per pfn (PV), NOT_SENT if none
    versions: VersionBounds = field(default_factory=VersionBounds)
    chunks: Counter = field(default_factory=Counter)
    online: tuple[int, ...] = (0,)           #: vCPUs of the tail (-2 map; vCPU 0 without it)
    saw_vcpu_info: bool = False
    saw_last_checkpoint: bool = False
    ioreq_server_chunks: set = field(default_factory=set)
    hvm_vcpus: int | None = None
    hvm_2007: bool = False
    checkpoints: int = 0

    @property
    def pv(self) -> bool:
        return self.guest is GuestType.PV

    @property
    def extv(self) -> bool:
        return b"extv" in self.ext_ids

    def enable_type_map(self) -> None:
        self.type_map = PfnMap("B", NOT_SENT, TYPE_MAP_CHUNK_BITS)
