"""The registry of image formats and the sniffer that picks one from the bytes.

Each format is a subpackage of :mod:`xcformat` that exposes ``FORMAT``, a :class:`Format`.  Files
are recognised from their first bytes, never from their names.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn, Protocol, TypeVar

from .errors import EnvironmentProblem, Finding, FormatError, UnsupportedError
from .io import Sink, Source
from .regions import RegionSink
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
    """What the user told us that the bytes may not say (``--guest``, ``--input-width``)."""

    guest: GuestType | None = None
    toolstack_bits: int | None = None


T = TypeVar("T")


@dataclass(frozen=True)
class WriteOptions:
    """How to write the target (from ``convert``'s options).

    ``wrap``, ``align`` and ``version`` are asked of any format and checked against its
    :class:`Capabilities` (:meth:`Capabilities.check`); what only one format takes is in its own
    options object, :attr:`format_options`.
    """

    wrap: str | None = None             #: ``--wrap``: a file wrapper to add (xl, libxl, ...)
    align: bool = False                 #: ``--align``: the format's page-aligned variant
    drop: frozenset[str] = frozenset()  #: record kinds the user allows to be dropped
    say: Say = say                      #: where to report what was dropped or adjusted
    version: int | None = None          #: ``--format-version``: which version of the target
    #: format to write, where it has several (v2: 2 for Xen 4.6-4.13; None: the format's default)
    #: The target format's own options: an instance of its :attr:`Capabilities.options` (None:
    #: their defaults).
    format_options: object | None = None

    def own(self, kind: type[T]) -> T:
        """:attr:`format_options` as the writer of ``kind``'s format takes them (its defaults
        when none were given)."""
        if self.format_options is None:
            return kind()
        if not isinstance(self.format_options, kind):
            raise TypeError(f"{type(self.format_options).__name__} given to a writer that "
                            f"takes {kind.__name__}")
        return self.format_options


def option(flag: str, help: str, default: Any = None, *, value: Any = None,
           choices: tuple[Any, ...] | None = None) -> Any:
    """A field of a format's own options, with the command-line flag that sets it: ``value``
    when the flag takes no argument (``--no-index``), else the argument (one of ``choices``).
    ``convert`` and ``send`` offer every format's flags; ``help`` says what it does."""
    return field(default=default, metadata={"flag": flag, "help": help, "value": value,
                                            "choices": choices})


def option_fields(options: type | None) -> tuple[dataclasses.Field[Any], ...]:
    """The fields of an options dataclass that :func:`option` declared."""
    if options is None:
        return ()
    return tuple(f for f in dataclasses.fields(options) if "flag" in f.metadata)


def default_version(versions: tuple[int, ...], name: str, source_format: str | None,
                    source_version: int | None) -> int | None:
    """The version of format ``name`` written when none is asked for: the source's own, where
    the source is this format in a version this build writes (a v2 version 2 stream stays
    version 2, the only one Xen 4.6-4.13 restore), else the newest; None for a format without
    version numbers."""
    if not versions:
        return None
    if source_format == name and source_version in versions:
        return source_version
    return versions[-1]


@dataclass(frozen=True)
class Capabilities:
    """What a format can do beyond reading: declared by its package, read by ``convert``,
    ``send`` and the negotiation, which restate none of it."""

    #: How messages name the format's files ("v2 streams", "core dumps").
    noun: str
    #: The versions this build reads and writes, oldest first; () for a format without version
    #: numbers (``--format-version`` chooses among them).
    versions: tuple[int, ...] = ()
    #: What ``--align`` makes of it (its page-aligned variant), None when it has none.
    aligned: str | None = None
    #: The file wrappers ``--wrap`` may add; () when it has none.
    wraps: tuple[str, ...] = ()
    #: Its own options: a frozen dataclass whose fields :func:`option` declares (None: none).
    options: type | None = None
    #: Must-understand feature bits of the format this build reads (the negotiation's
    #: ``features``); a writer sets no others.
    features: int = 0
    #: What to add when a common option is refused, by flag (``--wrap``, ``--align``, ...).
    refusal_notes: Mapping[str, str] = field(default_factory=dict)

    def default_version(self, name: str, source: Sniffed | None) -> int | None:
        """The version written from an input sniffed as ``source`` when none is asked for."""
        if source is None:
            return default_version(self.versions, name, None, None)
        return default_version(self.versions, name, source.format, source.facts.get("version"))

    def check(self, name: str, options: WriteOptions) -> None:
        """Refuse, as a usage error, what of ``options`` format ``name`` does not take."""
        if options.wrap is not None and options.wrap not in self.wraps:
            self._refuse("--wrap", options.wrap,
                         f"{name} wraps are {', '.join(self.wraps)}" if self.wraps
                         else f"{self.noun} have no wrappers")
        if options.align and self.aligned is None:
            self._refuse("--align", None, f"{self.noun} have no page-aligned variant")
        if options.version is not None and options.version not in self.versions:
            self._refuse("--format-version", str(options.version),
                         f"{self.noun} are version {' or '.join(map(str, self.versions))}"
                         if self.versions else f"{self.noun} have no version number")
        if options.format_options is not None and (
                self.options is None or not isinstance(options.format_options, self.options)):
            raise EnvironmentProblem(f"{type(options.format_options).__name__}: not the "
                                     f"options of {name}")

    def own_options(self, given: Mapping[str, Any], *, strict: bool = True,
                    loose: Mapping[str, Any] | None = None) -> Any:
        """The format's own options (an instance of :attr:`options`, None for the defaults)
        from ``given``: field name -> value, None where not given.  ``strict``: a field this
        format does not have is a usage error naming its flag; otherwise it is left out (as
        where xcformat chose the format: ``--for``, ``send``).  ``loose`` values apply where
        this format has the field and give way to ``given``."""
        mine = {f.name for f in option_fields(self.options)}
        given = {key: value for key, value in given.items() if value is not None}
        if strict:
            for key in sorted(given.keys() - mine):
                fld, takers = flags().get(key, (None, ()))
                flag = fld.metadata["flag"] if fld is not None else key
                raise EnvironmentProblem(f"{flag}: {self.noun} have no such option (it is "
                                         f"for {', '.join(takers) or 'no format'})")
        taken = {key: value for key, value in (loose or {}).items()
                 if key in mine and value is not None}
        taken.update((key, value) for key, value in given.items() if key in mine)
        return self.options(**taken) if taken and self.options is not None else None

    def _refuse(self, flag: str, value: str | None, why: str) -> NoReturn:
        note = self.refusal_notes.get(flag)
        raise EnvironmentProblem(f"{flag}{' ' + value if value else ''}: {why}"
                                 + (f" ({note})" if note else ""))


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
    #: What it can write beyond the records: versions, aligned variant, wrappers, own options.
    capabilities: Capabilities = field(kw_only=True)

    def new_writer(self, sink: Sink, options: WriteOptions) -> Writer:
        """Its writer on ``sink``, once :meth:`Capabilities.check` accepts ``options``."""
        if self.writer is None:
            raise UnsupportedError(f"xcformat cannot write {self.name} images")
        self.capabilities.check(self.name, options)
        return self.writer(sink, options)


def deferred(module: str, name: str) -> Callable[..., Any]:
    """A function that calls ``module.name``, importing the module on the first call.

    A format's reader, writer and page lookup are given this way, so that a command loads the
    code of the formats it reads and writes and not the others': start-up is most of a short
    command's time, and seconds in an emulated dom0, where ``xl`` waits on the pipe meanwhile.
    """
    @functools.cache
    def target() -> Callable[..., Any]:
        loaded: Callable[..., Any] = getattr(importlib.import_module(module), name)
        return loaded

    def call(*args: Any, **kwargs: Any) -> Any:
        return target()(*args, **kwargs)

    call.__qualname__ = call.__name__ = name
    call.__module__ = module
    return call


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


def flags() -> dict[str, tuple[dataclasses.Field[Any], tuple[str, ...]]]:
    """Every format's own options: field name -> (its field, as :func:`option` declared it,
    and the formats that have it)."""
    found: dict[str, tuple[dataclasses.Field[Any], tuple[str, ...]]] = {}
    for fmt in registry().values():
        for fld in option_fields(fmt.capabilities.options):
            first, takers = found.get(fld.name, (fld, ()))
            found[fld.name] = (first, (*takers, fmt.name))
    return found


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
