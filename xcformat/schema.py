"""How format packages declare their structures so that spec/ and docs/ are generated from them.

Each ``<format>/schema.py`` builds construct structures with a doc string on every field
(``"name" / Int32ul * "meaning"``) and registers each top-level structure with :func:`document`,
saying where it comes from.  The reference generator (:mod:`xcformat.specgen`) walks this registry;
nothing else describes the bytes, so the reference and the code cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import construct


@dataclass(frozen=True)
class Documented:
    """One structure of the format reference."""

    format: str       #: package name: "legacy", "aligned", "v2", "core", "x86"
    key: str          #: stable identifier, unique within the format (anchor in the reference)
    title: str        #: heading in the reference
    struct: construct.Construct
    since: str        #: first Xen release (or xcformat version) that wrote it
    source: str       #: where the layout is defined: "COMMIT:path" in xen-project/xen
    doc: str = ""     #: what the structure is for, what is surprising about it


REGISTRY: dict[tuple[str, str], Documented] = {}


def document(format: str, key: str, struct: construct.Construct, *, title: str, since: str,
             source: str, doc: str = "") -> construct.Construct:
    """Register ``struct`` for the reference and return it unchanged."""
    entry = Documented(format, key, title, struct, since, source, doc)
    previous = REGISTRY.get((format, key))
    if previous is not None and previous.struct is not struct:
        raise ValueError(f"structure {format}/{key} documented twice")
    REGISTRY[(format, key)] = entry
    return struct


def undocumented_fields(struct: construct.Construct, path: str = "") -> list[str]:
    """Dotted paths of the named fields under ``struct`` that carry no doc (for tests)."""
    missing = []
    con = struct
    while isinstance(con, (construct.Renamed, construct.Array, construct.Prefixed,
                           construct.Const, construct.Switch)) and not isinstance(
            con, construct.Struct):
        if isinstance(con, construct.Switch):
            for key, case in con.cases.items():
                missing += undocumented_fields(case, f"{path}[{key}]")
            return missing
        con = con.subcon
    if isinstance(con, construct.Struct):
        for sub in con.subcons:
            if sub.name is None:
                continue
            here = f"{path}.{sub.name}" if path else sub.name
            if not getattr(sub, "docs", ""):
                missing.append(here)
            missing += undocumented_fields(sub, here)
    return missing


# -- the order of the parts of a whole stream ---------------------------------------------------

@dataclass(frozen=True)
class Part:
    """One part of a stream, as a :class:`StreamOrder` lists it."""

    name: str
    size: int | str        #: bytes, or how they are counted ("4 + 8·n", "W/8")
    structure: str = ""    #: the documented structure it is: a key of the same format, or
                           #: "format/key"; "" when none is (page data, padding)
    when: str = ""         #: when it is present ("" always)
    repeat: str = ""       #: how it repeats ("" once); its size is then that of one
    offset: str = ""       #: where it starts, where a formula says more than "after" the part
                           #: before
    doc: str = ""          #: what to know about it
    start: bool = False    #: offsets from here on count from this part's first byte (the
                           #: stream proper, after a file wrapper)

    @property
    def fixed_size(self) -> int | None:
        """The size in bytes when the part is present once, always, with a size known before
        reading (so the next offset is known); None otherwise."""
        if isinstance(self.size, int) and not self.when and not self.repeat:
            return self.size
        return None


@dataclass(frozen=True)
class Sample:
    """A worked example: a synthetic guest (:mod:`xcformat.synth`), written in the format."""

    guest: str = "pv"
    pages: int = 32
    wrapper: str | None = None            #: the legacy sample's file wrapper ("xl", "xend")
    convert: tuple[str, ...] = ()         #: ``xcformat convert`` options; none: the legacy image


@dataclass(frozen=True)
class StreamOrder:
    """The parts of one format's stream in the order they appear (the reference shows it first)."""

    format: str
    title: str
    parts: tuple[Part, ...]
    source: str            #: where the order is written: "COMMIT:path" in xen-project/xen
    doc: str = ""
    sample: Sample | None = None


ORDERS: dict[str, StreamOrder] = {}


def stream_order(format: str, *parts: Part, title: str, source: str, doc: str = "",
                 sample: Sample | None = None) -> StreamOrder:
    """Register the order of ``format``'s parts for the reference; one per format."""
    order = StreamOrder(format, title, parts, source, doc, sample)
    previous = ORDERS.get(format)
    if previous is not None and previous != order:
        raise ValueError(f"stream order of {format} declared twice")
    ORDERS[format] = order
    return order
