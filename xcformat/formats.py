"""The registry of image formats and the sniffer that picks one from the bytes.

Each format is a subpackage of :mod:`xcformat` that exposes ``FORMAT``, a :class:`Format`.  Files
are recognised from their first bytes, never from their names.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from .errors import Finding, FormatError
from .io import Sink, Source
from .layout import RegionSink
from .log import Say, say
from .records import GuestType, Record

#: How many bytes the sniffers see.
SNIFF_BYTES = 64 << 10


@dataclass(frozen=True)
class Sniffed:
    """A sniffer's verdict: ``certain`` when a magic matched, not when a heuristic did.

    ``facts`` holds what the bytes decided (e.g. ``wrapper``, ``guest``, ``toolstack_bits``);
    ``undecided`` names what they could not decide and a hint must supply.
    """

    format: str
    certain: bool
    reason: str
    facts: dict[str, Any] = field(default_factory=dict)
    undecided: tuple[str, ...] = ()


@dataclass(frozen=True)
class Hints:
    """What the user told us that the bytes may not say (``--guest``, ``--width``)."""

    guest: GuestType | None = None
    toolstack_bits: int | None = None


@dataclass(frozen=True)
class WriteOptions:
    """How to write the target (from ``convert``'s options)."""

    toolstack_bits: int | None = None   #: legacy targets: ``--width``
    wrap: str | None = None             #: ``--wrap``: a file wrapper to add (xl, libxl, ...)
    align: bool = False                 #: ``--align``: the format's page-aligned variant
    drop: frozenset[str] = frozenset()  #: record kinds the user allows to be dropped
    index: bool = True                  #: ``--no-index`` clears it: no pfn index (aligned)
    say: Say = say                      #: where to report what was dropped or adjusted
    version: int | None = None          #: ``--format-version``: which version of the target
    #: format to write, where it has several (v2: 2 for Xen 4.6-4.13; None: the format's default)
    #: The input the records are read from (``convert`` sets it): a writer that reorders pages
    #: may read them again at ``PageBatch.data_offset`` instead of keeping a copy.
    source: Source | None = None


class Reader(Protocol):
    #: Warnings and notes gathered while reading; errors are raised as FormatError.
    findings: list[Finding]
    #: Set before :meth:`records` to be told where every structure lies (``map`` does); None
    #: when nobody asks, which costs a reader nothing.
    on_region: RegionSink | None
    #: Set by a validator before reading: an error after which the framing still says where
    #: the next structure starts becomes an error finding and reading goes on (see
    #: :func:`xcformat.errors.recover`).  Off, the first error is raised: a converter never
    #: builds anything from a broken image.
    keep_going: bool

    def records(self) -> Iterator[Record]: ...

    def summary(self) -> dict[str, Any]:
        """Format-specific facts for ``info`` (call after :meth:`records` is exhausted)."""


#: What a caller may put around the records that move (a progress bar, say):
#: ``watch(records, source)`` returns the same records.
Watch = Callable[[Iterator[Record], Source], Iterable[Record]]


class Writer(Protocol):
    def write(self, records: Iterable[Record]) -> None: ...


@dataclass(frozen=True)
class PageFound:
    """The answer to "what is in pfn N": ``data`` is None when the image holds no data for it.

    ``offset`` is where the page lies in the file (None when unknown); ``how`` says how it was
    found (``"index"``, ``"scan"``).
    """

    data: bytes | None
    offset: int | None
    how: str


@dataclass(frozen=True)
class Format:
    name: str
    description: str
    sniff: Callable[[bytes], Sniffed | None]
    reader: Callable[[Source, Hints], Reader]
    writer: Callable[[Sink, WriteOptions], Writer] | None = None
    #: Random access to one page by pfn; returns None when it cannot (e.g. no index, a pipe),
    #: and the caller scans the records instead.
    page_lookup: Callable[[Source, int], PageFound | None] | None = None


#: The subpackages of :mod:`xcformat` that are image formats.  Named, not discovered: importing
#: every subpackage would load the testing strategies (and Hypothesis) on every CLI call.
FORMAT_PACKAGES = ("aligned", "core", "legacy", "v2")


@functools.cache
def registry() -> dict[str, Format]:
    """Every format package's ``FORMAT``, by name."""
    found = {}
    for package in FORMAT_PACKAGES:
        fmt = importlib.import_module(f"xcformat.{package}").FORMAT
        found[fmt.name] = fmt
    return dict(sorted(found.items()))


def get(name: str) -> Format:
    try:
        return registry()[name]
    except KeyError:
        raise FormatError(f"unknown format {name!r} (known: {', '.join(registry())})") from None


def sniff(head: bytes) -> list[Sniffed]:
    """Every format's opinion of ``head``, certain ones first."""
    verdicts = [v for fmt in registry().values() if (v := fmt.sniff(head)) is not None]
    return sorted(verdicts, key=lambda v: not v.certain)


def detect(source: Source) -> tuple[Format, Sniffed]:
    """The format of ``source``, from its first bytes."""
    head = source.peek(SNIFF_BYTES)
    verdicts = sniff(head)
    if not head:
        raise source.error("the input is empty", field="magic", offset=0)
    if not verdicts:
        raise source.error(f"not an image xcformat knows (first bytes: {head[:16].hex(' ')})",
                           field="magic", offset=0)
    if len(verdicts) > 1 and verdicts[0].certain == verdicts[1].certain:
        names = " or ".join(v.format for v in verdicts)
        raise source.error(f"ambiguous image: could be {names}", field="magic", offset=0)
    return registry()[verdicts[0].format], verdicts[0]
