"""One ``--drop`` vocabulary for every writer.

A writer whose format has no place for something refuses it, or leaves it out when the user
names its kind with ``--drop KIND``; every writer uses the kinds below for the same things and
the same two sentences (:func:`refuse_or_drop`); which kind a record is comes from its
:class:`~xcformat.kinds.RecordKind`.  Core dumps leave out state a dump has no place
for without being asked (a dump is for examination) and report it the same way
(:func:`report_dropped`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from .errors import UnsupportedError
from .kinds import DROP_KINDS, drop_of
from .records import Opaque, Record

if TYPE_CHECKING:
    from .formats import WriteOptions

#: ``--drop`` kind -> what it leaves out (the sentence's object).
KINDS: dict[str, str] = {kind.name: kind.what for kind in DROP_KINDS}

#: What a writer says when it writes an xl save file with no domain configuration in it:
#: ``xl restore`` then needs one on its command line (tools/xl/xl_vmcontrol.c: "Config file not
#: specified and none in save file").
NO_XL_CONFIG = "the xl header carries no domain configuration: give one to xl restore"


def kind_of(record: Record) -> str:
    """The ``--drop`` kind that leaves ``record`` out (its record kind's, :mod:`xcformat.kinds`)."""
    return drop_of(record).name


def what_of(record: Record) -> str:
    """The sentence's object for ``record``: its kind's description (Opaque: its name too)."""
    kind = kind_of(record)
    if kind == "unknown-record" and isinstance(record, Opaque):
        return f"{KINDS[kind]} ({record.origin} {record.kind})"
    return KINDS[kind]


def refuse_or_drop(options: WriteOptions, target: str, kind: str,
                   what: str | None = None) -> None:
    """Raise "``target`` cannot carry ``what``" unless ``options.drop`` names ``kind``."""
    what = what or KINDS[kind]
    if kind not in options.drop:
        raise UnsupportedError(f"{target} cannot carry {what}; pass --drop {kind} to leave it out")
    options.say(f"dropped {what} (--drop {kind})")


def report_dropped(options: WriteOptions, target: str, kinds: Iterable[str]) -> None:
    """What a writer left out without being asked, in one line (nothing when nothing)."""
    if kinds:
        items = ", ".join(f"{KINDS[kind]} (--drop {kind})" for kind in sorted(set(kinds)))
        options.say(f"dropped what {target} has no place for: {items}")


def unknown_kinds(names: Iterable[str]) -> list[str]:
    return sorted(set(names) - set(KINDS))
