"""What xcformat knows about each kind of record, declared once, next to the record class.

Every record class in :mod:`xcformat.records` is registered with a :class:`RecordKind`
(``@kind(...)`` on the class): how messages name one, the ``--drop`` kind that leaves it out, the
guest types that have it, whether a restore needs it, where its bytes belong in an image map, and
which formats' writers carry it.  The tables other modules used to keep per record kind (the
``--drop`` vocabulary, the audit's drop list, the map's region kinds, ``info``'s labels) are
computed from these.  How a format encodes a kind stays with the format: each writer keeps one
table, ``handlers``, keyed by record class, which holds exactly the kinds whose
:attr:`RecordKind.formats` name it (``tests/test_kinds.py`` checks that).  A record a writer has
no handler for is refused, or left out when ``--drop`` names its kind (:mod:`xcformat.drops`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar


@dataclass(frozen=True)
class DropKind:
    """One word of the ``--drop`` vocabulary: ``name`` as the user types it, ``what`` as the
    messages say what it leaves out ("dropped <what> (--drop <name>)")."""

    name: str
    what: str


#: The ``--drop`` vocabulary, in the order usage errors and the convert guide list it.  Several
#: record kinds may share one word (the device model's state and its xenstore keys), and
#: :class:`~xcformat.records.Opaque` items each name theirs (:attr:`RecordKind.item_drops`).
CONFIG = DropKind("config", "the wrapper's domain configuration")
EMULATOR = DropKind("emulator", "the device model's state or xenstore keys")
TOOLSTACK = DropKind("toolstack", "the toolstack physmap")
UNMAPPED_PFNS = DropKind("unmapped-pfns",
                         "the list of pfns that were not in the p2m at the end of the save")
TMEM = DropKind("tmem", "transcendent memory (tmem) state")
VERIFY = DropKind("verify", "a debug verify pass")
CPU_POLICY = DropKind("cpu-policy", "the CPUID/MSR policy")
XSAVE = DropKind("xsave", "vCPU xsave state")
MSRS = DropKind("msrs", "vCPU MSR lists")
VCPU_EXTENDED = DropKind("vcpu-extended", "extended vCPU contexts")
VCPU_CONTEXT = DropKind("vcpu-context", "vCPU contexts")
SHARED_INFO = DropKind("shared-info", "the shared-info page")
HVM_CONTEXT = DropKind("hvm-context", "the HVM context")
HVM_PARAMS = DropKind("hvm-params", "HVM parameters")
TSC = DropKind("tsc", "the TSC information")
EXT_INFO = DropKind("ext-info", "the legacy PV extended-info block")
HVM_2007_TAIL = DropKind("hvm-2007-tail", "the 2007 HVM tail's frame")
UNKNOWN_RECORD = DropKind("unknown-record", "a record type xcformat does not know")
DROP_KINDS: tuple[DropKind, ...] = (
    CONFIG, EMULATOR, TOOLSTACK, UNMAPPED_PFNS, TMEM, VERIFY, CPU_POLICY, XSAVE, MSRS,
    VCPU_EXTENDED, VCPU_CONTEXT, SHARED_INFO, HVM_CONTEXT, HVM_PARAMS, TSC, EXT_INFO,
    HVM_2007_TAIL, UNKNOWN_RECORD)

@dataclass(frozen=True)
class RecordKind:
    """The format-neutral facts about one record class (set by :func:`kind`)."""

    #: The record class.
    cls: type
    #: How a message names one such record ("a vCPU context record").
    noun: str
    #: The guest types whose images have it (a writer refuses it in another guest's image).
    guests: frozenset[Any]
    #: The formats whose writer has a handler for it: writes it, fits it into what the format
    #: has, or knows it is not needed.  The others refuse it, or drop it with ``--drop``.
    formats: frozenset[str]
    #: What ``--drop`` calls it; None: never left out (it frames the image or states a fact
    #: every format has), and a refusal names ``unknown-record``.
    drop: DropKind | None = None
    #: A restore of the guest cannot do without it (what the audit never drops).
    restore: bool = False
    #: Where its bytes belong in an image map (:data:`xcformat.regions.KINDS`), in a format
    #: with one record per kind.
    region: str = "chunk"
    #: :class:`~xcformat.records.Opaque` only: the drop kind of each item ``kind`` (others:
    #: ``unknown-record``).
    item_drops: Mapping[str, DropKind] = field(default_factory=dict)
    #: What ``info`` counts it as (its ``records`` keys); the class name unless given.
    label: str = ""


#: Record class -> its kind, in the order the classes are declared.
KIND_OF: dict[type, RecordKind] = {}

_Class = TypeVar("_Class", bound=type)


def kind(noun: str, guests: frozenset[Any], formats: str, *, drop: DropKind | None = None,
         restore: bool = False, region: str = "chunk",
         item_drops: Mapping[str, DropKind] | None = None,
         label: str = "") -> Callable[[_Class], _Class]:
    """Register the decorated record class with its :class:`RecordKind`; ``formats`` is a
    space-separated list of format names ("aligned legacy v2")."""
    def register(cls: _Class) -> _Class:
        KIND_OF[cls] = RecordKind(cls, noun, frozenset(guests), frozenset(formats.split()), drop,
                                  restore, region, item_drops or {}, label or cls.__name__)
        return cls
    return register


def carried_by(format_name: str) -> frozenset[type]:
    """The record classes whose kinds name ``format_name`` among their formats."""
    return frozenset(cls for cls, k in KIND_OF.items() if format_name in k.formats)


def drop_of(record: Any) -> DropKind:
    """The ``--drop`` kind that leaves ``record`` out."""
    described = KIND_OF.get(type(record))
    if described is None:
        return UNKNOWN_RECORD
    if described.item_drops:
        return described.item_drops.get(record.kind, UNKNOWN_RECORD)
    return described.drop or UNKNOWN_RECORD


def restore_needs() -> frozenset[str]:
    """The drop kinds of what a restore cannot do without."""
    return frozenset(k.drop.name for k in KIND_OF.values() if k.restore and k.drop)


def region_of(cls: type) -> str:
    described = KIND_OF.get(cls)
    return described.region if described else "chunk"


def label_of(record: Any) -> str:
    """What ``info`` counts ``record`` as (:attr:`RecordKind.label`)."""
    described = KIND_OF.get(type(record))
    return described.label if described else type(record).__name__
