"""Which reader accepts which format and variant: the table behind ``convert --to auto --for``.

One table, :data:`TARGETS`, drives both the choice and the compatibility page of the docs
(:func:`rst_table` writes ``docs/compatibility.rst``; a test fails when that file is stale).
Run ``python -m xcformat.negotiate.targets > docs/compatibility.rst`` after changing it.

A target lists its :class:`Pick`\\ s best first; the first one this build can write, and that
the reader accepts for the image's toolstack width, wins.  A target that restores with
``xl restore`` names the file wrapper it needs (:attr:`Target.wrap`); a Xen release number
(``xen-4.19``) finds the row that holds it (:func:`get`).
"""

from __future__ import annotations

import dataclasses
import re
import sys
from dataclasses import dataclass

from ..errors import EnvironmentProblem, UnsupportedError
from .options import NEGOTIATED, OPTIONS, Option, unwritable

BOTH_WIDTHS = frozenset({32, 64})


@dataclass(frozen=True)
class Pick:
    option: str                          #: a key of :data:`~xcformat.negotiate.options.OPTIONS`
    widths: frozenset[int] = BOTH_WIDTHS  #: legacy toolstack widths the reader takes it with
    versions: tuple[int, int] | None = None  #: format versions the reader takes (None: any)
    why: str = ""


Release = tuple[int, int]


@dataclass(frozen=True)
class Target:
    name: str
    reader: str
    picks: tuple[Pick, ...]
    #: The Xen releases (major, minor) whose restore this row describes, lowest and highest
    #: (None: no upper bound); None for a tool that is not a Xen release.
    releases: tuple[Release, Release | None] | None = None
    #: The file wrapper the reader's restore command needs, written when ``--wrap`` is not
    #: given (``"xl"``: ``xl restore`` reads only xl save files); None: a bare stream.
    wrap: str | None = None
    #: What to tell a user who gets a bare stream: who reads it, and what the others need.
    bare: str = ""


# XTAB fillers (0xF0000000) alone align a W=32 batch (1023 entries, 4096-byte header); W=64 also
# needs a 4-byte -9 chunk before each batch, and restorers before Xen 4.1 do not know -9 (added
# in 00a4b65f85; RELEASE-4.0.0 xc_domain_restore.c fails on it).
_FILLER_ANY_XEN = Pick("legacy-align", frozenset({32}),
                       why="W=32 only: XTAB fillers are skipped by every legacy restorer; W=64 "
                       "would need chunk -9, unknown before Xen 4.1")
_FILLER_WITH_M9 = Pick("legacy-align", BOTH_WIDTHS,
                       why="XTAB fillers, and chunk -9 before each batch when W=64 (known since "
                       "Xen 4.1)")
_PLAIN_LEGACY = Pick("legacy", why="the legacy stream as Xen wrote it")
_V2_ONLY = "version 2 only: written as version 2 whatever the input"
#: xl save files: xl restore refuses anything else ("File has wrong magic number",
#: tools/xl/xl_vmcontrol.c); the xl header is what tells it a v2 or a legacy stream follows.
_XL = "xl"
_XM_OR_XL = ("a bare legacy stream, as xc_restore reads it; xm restore needs --wrap xend, "
             "xl restore --wrap xl")


def _legacy_reader(version: str, filler: Pick, wrap: str | None = None) -> Target:
    major, minor = map(int, version.split("."))
    return Target(f"xen-{version}", f"Xen {version} restore (xc_domain_restore: legacy only)",
                  (filler, _PLAIN_LEGACY), releases=((major, minor), (major, minor)),
                  wrap=wrap, bare="" if wrap else _XM_OR_XL)


#: Every ``--for`` target by name.
TARGETS: dict[str, Target] = {t.name: t for t in (
    *(_legacy_reader(v, _FILLER_ANY_XEN) for v in ("3.0", "3.1", "3.2", "3.3", "3.4", "4.0")),
    *(_legacy_reader(v, _FILLER_WITH_M9) for v in ("4.1", "4.2", "4.3", "4.4")),
    # Xen 4.5 removed xend: xl is its only toolstack.
    _legacy_reader("4.5", _FILLER_WITH_M9, wrap=_XL),
    # RELEASE-4.6.0 tools/libxc/xc_sr_restore.c requires IHDR_VERSION 2; 4.14 takes 2 and 3.
    Target("xen-4.6+", "Xen 4.6 and later (4.6-4.13 restore v2 version 2 only; legacy only "
                       "inside an xl save file, which libxl converts)",
           (Pick("v2-align", versions=(2, 2), why=_V2_ONLY),
            Pick("v2", versions=(2, 2), why=_V2_ONLY),
            Pick("legacy", why="in an xl save file libxl runs its legacy converter, "
                               "convert-legacy-stream")),
           releases=((4, 6), (4, 13)), wrap=_XL),
    Target("xen-4.14+", "Xen 4.14 and later (restore v2 versions 2 and 3)",
           (Pick("v2-align", why="a plain v2 stream whose batch sizes align the pages"),
            Pick("v2", why="as Xen writes it")), releases=((4, 14), None), wrap=_XL),
    Target("convert-legacy-stream", "the Xen project's legacy → v2 converter (what libxl runs "
                                    "for legacy xl files on 4.6+)",
           (Pick("legacy-align", why="it drops exact 0xF0000000 entries and ignores -9"),
            _PLAIN_LEGACY)),
    Target("verify-stream-v2", "the Xen project's v2 stream verifier",
           (Pick("v2-align", why="accepted: it checks records, not where pages lie"),
            Pick("v2"))),
    Target("xcformat", "xcformat itself, any version (the order two xcformat ends negotiate)",
           tuple(Pick(name) for name in NEGOTIATED)),
)}


#: A Xen release as users write it: ``xen-4.19``, ``4.19.1``, ``xen-3.0.4``, ``xen-4.17-rc``.
_RELEASE = re.compile(r"(?:xen-?)?(\d+)\.(\d+)(?:\.\d+)*(?:[-~+][\w.~+-]*)?", re.IGNORECASE)


def get(name: str) -> Target:
    """The row named ``name``, or the row of the Xen release it names (``xen-4.19``)."""
    if name in TARGETS:
        return TARGETS[name]
    if match := _RELEASE.fullmatch(name):
        release = (int(match[1]), int(match[2]))
        for target in TARGETS.values():
            if target.releases and target.releases[0] <= release and (
                    target.releases[1] is None or release <= target.releases[1]):
                return target
        what = "older than any save format xcformat knows" if release < (3, 0) else \
            "not a Xen release"
        raise EnvironmentProblem(f"--for {name}: Xen {release[0]}.{release[1]} is {what} (the "
                                 "rows cover 3.0-3.4, 4.0-4.5, 4.6-4.13 and 4.14 on)")
    raise EnvironmentProblem(f"--for: unknown target {name!r} (known: {', '.join(TARGETS)}, "
                             "or a Xen release such as xen-4.19)")


def choose(target: Target, width: int | None,
           refused: dict[str, str] | None = None) -> tuple[Option, list[str]]:
    """The best option for ``target`` and the reasons the better ones were passed over.

    ``width`` is the toolstack width (bits) of the legacy stream that would be written; None
    when unknown, in which case only picks good for both widths qualify.  A pick limited to
    some versions of its format is written in the newest of them (``Option.pinned``).
    ``refused`` maps option names to why their writer already refused this image (the legacy
    filler variant finds out only at a Remus checkpoint that it cannot serve a 64-bit stream).
    """
    passed: list[str] = []
    for pick in target.picks:
        option = OPTIONS[pick.option]
        if refused and option.name in refused:
            passed.append(f"{option.name}: {refused[option.name]}")
        elif reason := unwritable(option):
            passed.append(f"{option.name}: {reason}")
        elif not pick.widths >= ({width} if width else BOTH_WIDTHS):
            passed.append(f"{option.name}: {pick.why}"
                          + ("" if width else " (toolstack width unknown; --output-width decides)"))
        elif pick.versions is None:
            return option, passed
        else:
            # The reader takes only some versions: ask the writer for the newest of them
            # (v2 writes version 2 for Xen 4.6-4.13 from any input, WriteOptions.version).
            top = min(pick.versions[1], option.versions[1])
            if top >= max(pick.versions[0], option.versions[0]):
                return dataclasses.replace(option, pinned=top), passed
            passed.append(f"{option.name}: {pick.why} (this build writes version "
                          f"{option.versions[0]}-{option.versions[1]})")
    raise UnsupportedError(f"nothing this xcformat writes is read by {target.reader}: "
                           + "; ".join(passed))


def rst_table() -> str:
    """``docs/compatibility.rst``, generated from :data:`TARGETS`."""
    lines = [
        ".. Generated by `python -m xcformat.negotiate.targets`; edit targets.py, not this file.",
        "",
        "Compatibility: which reader takes which format",
        "==============================================",
        "",
        "``xcformat convert IN OUT --for TARGET`` (``--to auto`` is implied) writes the first",
        "choice of the target's row that this xcformat can write and that suits the image's",
        "toolstack width (W, for legacy streams).  TARGET is a row's name or any Xen release",
        "(``xen-4.19``, ``xen-3.0.4``), which finds the row that holds it.  Where the reader's",
        "restore command takes only one kind of file, the file column names it, and ``--for``",
        "writes that wrapper unless ``--wrap`` says otherwise; where it cannot tell which",
        "toolstack will restore the file, it writes a bare stream and says what each needs.",
        "Two xcformat ends negotiate the ``xcformat`` row over the network",
        "(``xcformat send`` / ``receive``).",
        "",
        ".. list-table::",
        "   :header-rows: 1",
        "   :widths: 14 26 14 46",
        "",
        "   * - ``--for``",
        "     - reader",
        "     - file",
        "     - choices, best first",
    ]
    for target in TARGETS.values():
        choices = "; ".join(
            f"``{p.option}``" + ("" if p.widths == BOTH_WIDTHS
                                 else f" (W={'/'.join(map(str, sorted(p.widths)))})")
            + ("" if p.versions is None else f" (version {p.versions[0]}-{p.versions[1]})")
            + (f": {p.why}" if p.why else "") for p in target.picks)
        lines += [f"   * - ``{target.name}``", f"     - {target.reader}",
                  f"     - {_file_column(target)}", f"     - {choices}"]
    lines += ["", "The choices:", ""]
    lines += [f"``{o.name}``\n   {o.summary}."
              + ("" if (reason := unwritable(o)) is None
                 else f"  Not written by this xcformat ({reason}): ``--for`` passes over it.")
              for o in OPTIONS.values()]
    return "\n".join(lines) + "\n"


def _file_column(target: Target) -> str:
    if target.wrap == _XL:
        return "xl save file (``xl restore``)"
    return "bare stream; ``--wrap xend`` for ``xm restore``, ``--wrap xl`` for ``xl restore``" \
        if target.bare else "bare stream"


if __name__ == "__main__":
    sys.stdout.write(rst_table())
