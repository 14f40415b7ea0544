"""The Python API: open an image, say what it is, check it, read it, write it in another format.

:func:`open` takes a path, the bytes of an image, or a binary file object, recognises the format
from the bytes and returns an :class:`Image`.  Each of its methods reads the image from the
start; a path or a seekable file can be read any number of times, standard input or a pipe once.
The command line is built on the same calls, so the two cannot disagree.

Messages (what a writer dropped or adjusted, which I/O mode a file fell back to) go to the
``xcformat`` logger, or to the ``on_message`` callback of a conversion; nothing here prints.
"""

from __future__ import annotations

import contextlib
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, fields, replace
from typing import BinaryIO, TypeAlias

from . import drops, formats
from .census import Census
from .errors import (EnvironmentProblem, Finding, FormatError, UnsupportedError,
                     naming_the_input)
from .io import FileObjectSink, IoMode, Sink, Source, open_sink
from .io.passes import Input, Passes, name_of, passes_over
from .log import Say, say
from .pagefind import find_page
from .records import GuestType, Record
from .selfcheck import confirmed_first, output_check

#: Where :meth:`Image.convert` writes: a path (written atomically; ``"-"``: standard output) or a
#: binary file object (written in order as the image is made).
Output: TypeAlias = "str | os.PathLike[str] | BinaryIO"


@dataclass(frozen=True)
class Info:
    """What an image is and what it holds: the facts of ``xcformat info``.

    The fields every format has come first; ``details`` holds the format's own facts (a legacy
    stream's variant and chunks, a v2 stream's Xen version, a dump's notes), and ``findings`` the
    warnings and notes of the reader.  :meth:`as_json` is what ``info --json`` prints.
    """

    file: str
    format: str
    size: int | None            #: bytes, None for a pipe
    wrapper: str | None         #: file wrapper (``xl``, ``libxl``, ...), None without one
    guest: str | None           #: ``pv`` or ``hvm``
    toolstack_width: int | None  #: bits of the toolstack's ``unsigned long``
    guest_width: int | None      #: bits of the guest's word
    p2m_size: int | None         #: guest pfns the image describes
    pages: int | None            #: distinct guest pages with data (None: too many to count)
    page_records: int            #: data-bearing page entries, pages sent again included
    batches: int
    vcpus: int
    records: dict[str, int]      #: how many records of each kind were read
    details: dict[str, object] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    #: With ``info(partial=True)``: the error that stopped the reading (the facts are those read
    #: before it); None when the whole image was read.
    error: FormatError | None = None

    def as_json(self) -> dict[str, object]:
        """What ``info --json`` prints: the fields, with ``details`` spread among them."""
        facts: dict[str, object] = {f.name: getattr(self, f.name) for f in fields(self)
                                    if f.name not in ("details", "findings", "error")}
        return {**facts, "records": dict(self.records), **self.details,
                "findings": [finding.as_json() for finding in self.findings],
                "error": str(self.error) if self.error is not None else None}


#: Finding levels, worst first.
LEVELS = ("error", "warning", "info")


@dataclass(frozen=True)
class Validation:
    """The verdict of a strict check, as ``qemu-img check`` gives one: every finding, errors
    included, in the order found (reading on past an error wherever the format's framing says
    where the next structure starts), and what was checked and what was not."""

    file: str
    format: str | None          #: None when the bytes are no image xcformat knows
    findings: list[Finding]
    size: int | None = None     #: of the input, where known
    checked: int = 0            #: bytes checked: up to the error that stopped the reading, or all
    fatal: Finding | None = None  #: the error that stopped the reading (also in ``findings``)
    census: Census = field(default_factory=Census)   #: what was read

    @property
    def valid(self) -> bool:
        """True unless a finding is an error."""
        return not any(finding.level == "error" for finding in self.findings)

    def counts(self) -> dict[str, int]:
        """Findings by level."""
        counted = Counter(finding.level for finding in self.findings)
        return {level: counted[level] for level in LEVELS}

    def unchecked(self) -> int | None:
        """Bytes after the point where reading stopped (None: unknown, as for a pipe)."""
        if self.fatal is None:
            return 0
        return None if self.size is None else max(self.size - self.checked, 0)

    def summary_json(self) -> dict[str, object]:
        seen = self.census.as_json()
        return {**self.counts(), "checked_bytes": self.checked, "size": self.size,
                "stopped_at": self.checked if self.fatal else None,
                "unchecked_bytes": self.unchecked(),
                "fatal": self.fatal.as_json() if self.fatal else None,
                "seen": {k: seen[k] for k in ("pages", "batches", "vcpus", "records")}}

    def as_json(self) -> dict[str, object]:
        """What ``validate --json`` prints."""
        return {"file": self.file, "format": self.format, "valid": self.valid,
                "findings": [finding.as_json() for finding in self.findings],
                "summary": self.summary_json()}


@dataclass(frozen=True)
class Page:
    """One guest page: its 4096 bytes, where they lie in the file (None when the format cannot
    say), and how they were found (``index``: the image's pfn index; ``scan``: read through)."""

    pfn: int
    data: bytes
    offset: int | None
    how: str

    def __bytes__(self) -> bytes:
        return self.data


@dataclass(frozen=True)
class Written:
    """What a conversion wrote."""

    file: str                    #: the output's name
    format: str                  #: the format written
    source_format: str           #: the format read
    size: int                    #: bytes written
    messages: list[str]          #: what the writer dropped or adjusted, one line each


class Image:
    """An image opened by :func:`open`; use it as a context manager, or :meth:`close` it.

    ``name`` is what messages call it: the path as given, ``<bytes>``, or the file object's
    ``name``; ``detected`` is the sniffer's verdict (:class:`~xcformat.formats.Sniffed`: what the
    first bytes decided, such as the wrapper and the widths).
    """

    def __init__(self, passes: Passes, hints: formats.Hints):
        self.name = passes.name
        self._passes = passes
        self._hints = hints
        self._closed = False
        stack = contextlib.ExitStack()
        try:
            source = stack.enter_context(passes.open())
            self._format, self.detected = formats.detect(source)
        except BaseException:
            stack.close()
            passes.close()
            raise
        # The first pass reads on from where detection peeked: standard input has no second.
        self._pending: tuple[contextlib.ExitStack, Source] | None = (stack, source)

    @property
    def format(self) -> str:
        """The format's name: ``legacy``, ``v2``, ``aligned`` or ``core``."""
        return self._format.name

    def __repr__(self) -> str:
        return f"<xcformat.Image {self.name!r} ({self.format})>"

    def __enter__(self) -> Image:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._pending is not None:
            self._pending[0].close()
            self._pending = None
        self._passes.close()

    @contextlib.contextmanager
    def _source(self) -> Iterator[Source]:
        """A source at the start of the image, for one pass."""
        if self._closed:
            raise ValueError(f"{self.name}: the image is closed")
        if self._pending is not None:
            stack, source = self._pending
            self._pending = None
            with stack:
                yield source
            return
        with self._passes.open() as source:
            yield source

    def _reader(self, source: Source) -> formats.Reader:
        return self._format.reader(source, self._hints)

    # -- reading ----------------------------------------------------------------------------
    def records(self) -> Iterator[Record]:
        """Every record of the image, in file order.  A :class:`~xcformat.records.PageBatch`'s
        ``data`` is valid only until the next record is asked for: copy what you keep."""
        with self._source() as source:
            yield from self._reader(source).records()

    def info(self, *, partial: bool = False) -> Info:
        """Read the whole image and say what it holds.  A damaged image raises
        :class:`~xcformat.errors.FormatError`, unless ``partial``: then the facts read before
        the damage come back with the error in :attr:`Info.error`."""
        with self._source() as source:
            census = Census()
            reader = error = None
            try:
                reader = self._reader(source)
                for record in reader.records():
                    census.see(record)
            except FormatError as exc:
                if not partial:
                    raise
                error = exc
            # Some formats look back into the file for their summary: take it while it is open.
            details = reader.summary() if reader is not None and error is None else {}
            findings = list(reader.findings) if reader is not None else []
            return Info(file=self.name, format=self.format, size=source.size,
                        **census.as_json(), details=details, findings=findings, error=error)

    def validate(self) -> Validation:
        """Read the whole image strictly, on past every error the framing allows; the findings
        say what is wrong (or worth knowing).  Damage is a finding, not an exception."""
        findings: list[Finding] = []
        census = Census()
        reader = fatal = None
        size, checked = None, 0
        try:
            with self._source() as source:
                size = source.size
                reader = self._reader(source)
                reader.keep_going = True
                try:
                    for record in reader.records():
                        census.see(record)
                except FormatError as exc:
                    fatal = Finding.of(exc)
                finally:
                    checked = source.offset
                if fatal is not None and fatal.offset is not None:
                    checked = fatal.offset   # a dump is read by offset, not in order
        except FormatError as exc:           # the reader refused the image at once
            fatal = Finding.of(exc)
        if reader is not None:
            findings.extend(reader.findings)
        if fatal is not None:
            findings.append(fatal)
        return Validation(self.name, self.format, findings, size, checked, fatal, census)

    def page(self, pfn: int) -> Page:
        """Guest page ``pfn``, through the image's index where it has one, else by reading
        through (the latest copy wins).  Raises :class:`~xcformat.errors.FormatError` when the
        image holds no data for it."""
        if pfn < 0:
            raise EnvironmentProblem(f"pfn {pfn}: not a page number")
        with self._source() as source:
            found = find_page(self._format, source, pfn, self._hints)
        if found.data is None:
            raise FormatError(f"no data for pfn {pfn:#x} ({self.format}, {found.how})",
                              file=self.name, field="pfn")
        return Page(pfn, found.data, found.offset, found.how)

    # -- writing ----------------------------------------------------------------------------
    def convert(self, dest: Output, to: str, *, width: int | None = None,
                wrap: str | None = None, align: bool = False, index: bool = True,
                drop: Iterable[str] = (), version: int | None = None,
                io: IoMode | str = IoMode.AUTO, on_message: Say | None = None,
                watch: formats.Watch | None = None) -> Written:
        """Write the image to ``dest`` in format ``to``, as ``xcformat convert`` does.

        The options are those of the command: ``width`` (a legacy target's toolstack width),
        ``wrap`` (a file wrapper to add), ``align`` (the page-aligned variant), ``index`` (False:
        no pfn index, for an aligned target), ``drop`` (the kinds of record the target may leave
        out, see :mod:`xcformat.drops`), ``version`` (of the target format).  An option the
        target does not take (its :class:`~xcformat.formats.Capabilities` say which) raises
        :class:`~xcformat.errors.EnvironmentProblem`.  What the target cannot carry
        and ``drop`` does not name is refused with :class:`~xcformat.errors.UnsupportedError`,
        and nothing is left at a path.  Each message goes to ``on_message`` (default: the
        ``xcformat`` logger) and into :attr:`Written.messages`.  ``watch`` is handed the
        records and the input as they move (the command line's progress bar).
        """
        unknown = drops.unknown_kinds(drop)
        if unknown:
            raise EnvironmentProblem(f"drop {','.join(unknown)}: not a kind (kinds: "
                                     f"{', '.join(drops.KINDS)})")
        target = formats.get(to)
        own = target.capabilities.own_options({"toolstack_bits": width,
                                               "index": None if index else False})
        options = formats.WriteOptions(wrap=wrap, align=align, drop=frozenset(drop),
                                       version=version, say=on_message or say,
                                       format_options=own)
        return self.write(dest, target, options, io=io, watch=watch)

    def write(self, dest: Output, target: formats.Format, options: formats.WriteOptions, *,
              io: IoMode | str = IoMode.AUTO, watch: formats.Watch | None = None,
              confirm: Callable[[], None] | None = None,
              new_file_mode: int = 0o666) -> Written:
        """:meth:`convert` with the target's :class:`~xcformat.formats.Format` and
        :class:`~xcformat.formats.WriteOptions` already made (as ``--to auto --for`` makes
        them).  ``confirm``, called once a file at a path is written but before it is checked
        and published, may raise to keep it from appearing (``xcformat save`` waits there for
        xl's verdict on the stream it read); a new file at a path gets the permissions
        ``new_file_mode``, less the umask."""
        if target.writer is None:
            raise UnsupportedError(f"xcformat cannot write {target.name} images")
        target.capabilities.check(target.name, options)    # before anything is opened
        messages: list[str] = []

        def tell(message: str) -> None:
            messages.append(message)
            options.say(message)

        with self._source() as source:
            records = self._reader(source).records()
            moving = records if watch is None else watch(records, source)
            writer: formats.Writer | None = None
            check = output_check(target.name, name_of(dest), source.name,
                                 lambda: getattr(writer, "read_hints", formats.Hints()), io)
            if confirm is not None:
                check = confirmed_first(confirm, check)
            # A writer learns facts early from the reader (v2/prepass.py), never from the input.
            with _sink(dest, io, source, check=check, new_file_mode=new_file_mode) as sink:
                try:
                    writer = target.new_writer(sink, replace(options, say=tell))
                    writer.write(moving)
                except (FormatError, UnsupportedError) as exc:
                    raise naming_the_input(exc, source.name) from None
                size = sink.offset
        return Written(sink.name, target.name, self.format, size, messages)


def open(source: Input, *, guest: GuestType | str | None = None, width: int | None = None,
         io: IoMode | str = IoMode.AUTO) -> Image:
    """Open an image and recognise its format from its first bytes.

    ``guest`` (``pv``/``hvm``) and ``width`` (32/64) say what the bytes of an old legacy image
    cannot; ``io`` chooses how a path is read (see :class:`~xcformat.io.IoMode`).  An input that
    is no image xcformat knows raises :class:`~xcformat.errors.FormatError`; one that cannot be
    opened, :class:`~xcformat.errors.EnvironmentProblem`.
    """
    hints = formats.Hints(guest=GuestType(guest) if guest is not None else None,
                          toolstack_bits=width)
    return Image(passes_over(source, IoMode(io)), hints)


def validate(source: Input, *, guest: GuestType | str | None = None, width: int | None = None,
             io: IoMode | str = IoMode.AUTO) -> Validation:
    """Check ``source`` strictly, as ``xcformat validate`` does: bytes that are no known image
    are a finding too (and :attr:`Validation.format` is None)."""
    try:
        image = open(source, guest=guest, width=width, io=io)
    except FormatError as exc:
        fatal = Finding.of(exc)
        return Validation(name_of(source), None, [fatal], fatal=fatal)
    with image:
        return image.validate()


@contextlib.contextmanager
def _sink(dest: Output, io: IoMode | str, source: Source,
          check: Callable[[str], None], new_file_mode: int) -> Iterator[Sink]:
    """A sink on ``dest`` that may read bytes again from ``source``, the input (which a path
    must not be); a file that fails ``check`` is not published (a file object cannot be taken
    back)."""
    if isinstance(dest, (str, os.PathLike)):
        with open_sink(os.fspath(dest), io, reading=source.stat(), check=check,
                       reread=source, new_file_mode=new_file_mode) as sink:
            yield sink
        return
    sink = FileObjectSink(dest, name_of(dest), reread=source)
    try:
        yield sink
    finally:
        sink.close()
    dest.flush()
