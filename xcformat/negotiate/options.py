"""The ways an image can be written (a format and a variant), and which of them this build can
read and write.

Both the peer negotiation and ``convert --to auto --for`` choose among these :class:`Option`\\ s;
they are named on the command line (``--offer``, ``--accept``, ``--to``) by :attr:`Option.name`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from .. import formats
from ..errors import EnvironmentProblem


#: The version the protocol states for a format without version numbers (legacy).
UNVERSIONED = 0


@dataclass(frozen=True)
class Option:
    name: str          #: command-line name
    format: str        #: registry name of the format
    align: bool        #: the format's page-aligned variant (``WriteOptions.align``)
    summary: str
    #: The version to write when a reader takes fewer than :attr:`versions` (``--for``):
    #: ``WriteOptions.version``; None leaves the writer's default.
    pinned: int | None = None

    @property
    def versions(self) -> tuple[int, int]:
        """The versions of the format this build reads and writes (lowest, highest), as its
        :class:`~xcformat.formats.Capabilities` declare them."""
        versions = capabilities(self).versions or (UNVERSIONED,)
        return versions[0], versions[-1]

    def write_options(self, base: formats.WriteOptions) -> formats.WriteOptions:
        """``base`` with this option's variant switched on or off (and its version pinned)."""
        return dataclasses.replace(base, align=self.align,
                                   version=self.pinned if self.pinned else base.version)


#: Every way this build knows to write an image, by command-line name.
OPTIONS: dict[str, Option] = {o.name: o for o in (
    Option("aligned", "aligned", False,
           "xcformat's aligned format v1: every page 4 KiB-aligned, converts back to legacy "
           "byte for byte"),
    Option("v2-align", "v2", True,
           "migration stream v2 with batches sized so every page is 4 KiB-aligned"),
    Option("v2", "v2", False, "migration stream v2 as Xen 4.6+ writes it"),
    Option("legacy-align", "legacy", True,
           "legacy stream with XTAB-filled batches that put pages on 4 KiB boundaries; "
           "W=64 adds a -9 chunk before each batch"),
    Option("legacy", "legacy", False, "the legacy stream of Xen 3.0-4.5"),
)}

#: What a sender tries, best first, when both ends are xcformat (spec/negotiation.md).  legacy-align is
#: left out: between two xcformat ends the aligned format does the same job better.
NEGOTIATED = ("aligned", "v2-align", "v2", "legacy")


def capabilities(option: Option) -> formats.Capabilities:
    """What ``option``'s format declares it can do (it must be :func:`readable`)."""
    return formats.registry()[option.format].capabilities


def unwritable(option: Option) -> str | None:
    """Why this build cannot write ``option`` (None when it can)."""
    fmt = formats.registry().get(option.format)
    if fmt is None or fmt.writer is None:
        return "this xcformat has no writer for it"
    if option.align and fmt.capabilities.aligned is None:
        return f"this xcformat's {option.format} writer has no aligned variant yet"
    return None


def writable(option: Option) -> bool:
    return unwritable(option) is None


def written_version(option: Option, source: formats.Sniffed | None) -> int:
    """The version of ``option``'s format that this build writes from ``source`` (its pinned
    one, else the writer's default: :meth:`~xcformat.formats.Capabilities.default_version`)."""
    if option.pinned:
        return option.pinned
    version = capabilities(option).default_version(option.format, source)
    return UNVERSIONED if version is None else version


def understood_features(option: Option) -> int:
    """The must-understand feature bits of ``option``'s format this build reads."""
    return capabilities(option).features


def readable(option: Option) -> bool:
    return option.format in formats.registry()


def parse_list(text: str, flag: str) -> tuple[Option, ...]:
    """A comma-separated list of option names (``--offer``, ``--accept``), in the given order."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in OPTIONS]
    if unknown or not names:
        raise EnvironmentProblem(f"{flag}: unknown {', '.join(unknown) or 'empty list'} "
                                 f"(known: {', '.join(OPTIONS)})")
    return tuple(OPTIONS[n] for n in names)


def by_format(name: str, align: bool) -> Option | None:
    """The option for a format and variant, as a choice message names them."""
    return next((o for o in OPTIONS.values() if o.format == name and o.align == align), None)
