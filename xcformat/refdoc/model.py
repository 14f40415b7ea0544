"""From a construct structure to the rows of its field table.

Every row says where a field lies (:class:`Offset`), how big it is, what type it has and what it
means (the field's construct doc).  Fields behind a variable-size field get offsets relative to the
end of that field, since no absolute offset exists for them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import construct as c

from ..codec import Validated
from ..schema import Documented


@dataclass(frozen=True)
class Offset:
    """``delta`` bytes after ``anchor`` (None: after the start of the structure)."""

    anchor: str | None
    delta: int

    def plus(self, size: int) -> Offset:
        return Offset(self.anchor, self.delta + size)

    def __str__(self) -> str:
        if self.anchor is None:
            return f"{self.delta:#x}"
        return f"{self.anchor} + {self.delta:#x}" if self.delta else self.anchor


@dataclass(frozen=True)
class Field:
    path: str           #: dotted name; ``[i]`` marks the fields of each array element
    depth: int          #: nesting level (0 for the structure's own fields)
    offset: Offset
    size: int | None    #: bytes, None when it depends on other fields
    size_text: str      #: ``size`` or how it is computed ("8 × count", "variable")
    type: str           #: may hold ``{{format/key}}`` references to other documented structures
    meaning: str


#: ``{{format/key}}``: a reference from a type to another documented structure.
REF = re.compile(r"\{\{([\w.-]+)/([\w.-]+)\}\}")

_INT_TYPES = {"B": "u8", "b": "s8", "H": "u16", "h": "s16", "L": "u32", "l": "s32", "I": "u32",
              "i": "s32", "Q": "u64", "q": "s64", "e": "f16", "f": "f32", "d": "f64"}
_ENDIAN = {"<": " LE", ">": " BE", "=": " native", "!": " BE"}


def expression(value) -> str:
    """A construct length/count/condition as a reader would write it: ``this.count * 8`` →
    ``count * 8``."""
    if isinstance(value, int):
        return str(value)
    if callable(value) and not isinstance(value, c.expr.ExprMixin):
        return "computed"
    text = re.sub(r"this\['_params'\]\['(\w+)'\]", r"\1", str(value))  # a parse-time argument
    text = re.sub(r"this\['(\w+)'\]", r"\1", text)
    text = re.sub(r"this\['_'\]\['(\w+)'\]", r"parent.\1", text)
    return text[1:-1] if text.startswith("(") and text.endswith(")") else text


def static_size(con: c.Construct) -> int | None:
    try:
        return con.sizeof()
    except (c.SizeofError, c.ConstructError, KeyError, AttributeError, TypeError):
        return None


def peel(con: c.Construct) -> tuple[str | None, str, c.Construct]:
    """``(name, docs, inner)`` of a possibly renamed/documented construct."""
    name, docs = None, ""
    while isinstance(con, (c.Renamed, Validated)):
        if isinstance(con, c.Renamed):
            name = name or con.name
            docs = docs or (con.docs or "")
        con = con.subcon
    return name, " ".join(docs.split()), con


_ESCAPES = {0: "\\0", 9: "\\t", 10: "\\n", 13: "\\r"}


def _literal(value) -> str:
    """A constant as a reader wants to see it: text as a quoted string (C escapes), runs of zero
    as a count, other bytes as hex (the first 16 of a long run)."""
    if isinstance(value, bytes):
        if value and not any(value):
            return f"{len(value)} zero bytes"
        if value.rstrip(b"\0") and all(32 <= b < 127 or b in _ESCAPES for b in value):
            return '"' + "".join(_ESCAPES.get(b, chr(b)) for b in value) + '"'
        return value[:16].hex(" ") + (f" … ({len(value)} bytes)" if len(value) > 16 else "")
    if isinstance(value, int):
        return f"{value:#x}"
    return repr(value)


def _is_prefixed_array(con) -> bool:
    return isinstance(con, c.FocusedSeq) and set(getattr(con, "_subcons", {})) == {"count", "items"}


def _element(con):
    """The element construct of an array-like construct, else None."""
    if isinstance(con, (c.Array, c.GreedyRange)):
        return con.subcon
    if _is_prefixed_array(con):
        return peel(con._subcons["items"])[2].subcon
    return None


def _transparent(con) -> bool:
    """Wrappers whose inner structure is laid out as is (its members get rows)."""
    if isinstance(con, (c.Enum, c.FlagsEnum)):
        return False
    return isinstance(con, (c.Const, c.Padded, c.Aligned, c.Adapter)) or type(con) is c.Subconstruct


class Walker:
    """Walks one documented structure; ``known`` maps id(struct) to other documented entries."""

    def __init__(self, known: Mapping[int, Documented]):
        self.known = known

    # -- types ---------------------------------------------------------------------------------
    def type_of(self, con: c.Construct) -> str:
        entry = self.known.get(id(con))
        if entry is not None:
            return f"{{{{{entry.format}/{entry.key}}}}}"
        if isinstance(con, c.Renamed):
            return self.type_of(peel(con)[2])
        if isinstance(con, c.FormatField):
            endian = _ENDIAN.get(con.fmtstr[0], "") if con.length > 1 else ""
            return _INT_TYPES.get(con.fmtstr[1:], con.fmtstr) + endian
        if isinstance(con, c.BitsInteger):
            return "signed" if con.signed else "unsigned"
        if isinstance(con, c.BytesInteger):
            return f"{'s' if con.signed else 'u'}{expression(con.length)}×8 {'LE' if con.swapped else 'BE'}"
        if isinstance(con, c.Const):
            return f"{self.type_of(con.subcon)} = {_literal(con.value)}"
        if isinstance(con, c.Padded):
            if con.subcon is c.Pass:
                return "padding"
            return f"{self.type_of(con.subcon)}, padded to {expression(con.length)} bytes"
        if isinstance(con, c.Aligned):
            return f"{self.type_of(con.subcon)}, padded to a multiple of {expression(con.modulus)}"
        if isinstance(con, c.Enum):
            return f"enum ({self.type_of(con.subcon)})"
        if isinstance(con, c.FlagsEnum):
            return f"flags ({self.type_of(con.subcon)})"
        if isinstance(con, c.Array):
            return f"{self.type_of(con.subcon)}[{expression(con.count)}]"
        if isinstance(con, c.GreedyRange):
            return f"{self.type_of(con.subcon)}[…] to the end"
        if _is_prefixed_array(con):
            count = self.type_of(peel(con._subcons["count"])[2])
            return f"{count} count, then {self.type_of(_element(con))}[count]"
        if isinstance(con, c.Switch):
            return f"one of {len(con.cases)} layouts, by {expression(con.keyfunc)}"
        if isinstance(con, c.IfThenElse):
            return (f"{self.type_of(con.thensubcon)} if {expression(con.condfunc)}, else "
                    f"{self.type_of(con.elsesubcon)}")
        if isinstance(con, c.Transformed) and isinstance(con.subcon, c.Struct):
            return "bit fields"
        if isinstance(con, c.Struct):
            return "struct"
        if isinstance(con, c.Bytes):
            return "bytes"
        if con is c.GreedyBytes:
            return "bytes to the end"
        if con is c.Pass:
            return "nothing"
        if con is c.Error:
            return "rejected: the reader stops with an error"
        if isinstance(con, c.Subconstruct):
            return self.type_of(con.subcon)
        return type(con).__name__

    def size_of(self, con: c.Construct) -> tuple[int | None, str]:
        size = static_size(con)
        if size is not None:
            return size, str(size)
        inner = peel(con)[2]
        if isinstance(inner, c.Switch):
            cases = list(inner.cases.values()) + ([] if inner.default is c.Pass else [inner.default])
            sizes = {static_size(case) for case in cases}
            if len(sizes) == 1 and None not in sizes:
                return sizes.pop(), str(static_size(cases[0]))
            return None, "depends on " + expression(inner.keyfunc)
        if isinstance(inner, c.Bytes):
            return None, expression(inner.length)
        if isinstance(inner, c.Array):
            element = static_size(inner.subcon)
            count = expression(inner.count)
            return None, f"{element} × {count}" if element is not None else f"{count} elements"
        if isinstance(inner, c.Padded):
            return None, expression(inner.length)
        if inner is c.GreedyBytes or isinstance(inner, c.GreedyRange):
            return None, "rest of the input"
        return None, "variable"

    @staticmethod
    def meaning_of(docs: str, con: c.Construct) -> str:
        if docs and not docs.endswith((".", "!", "?", ":")):
            docs += "."
        inner = con
        while isinstance(inner, c.Subconstruct) and not isinstance(inner, (c.Enum, c.FlagsEnum)):
            inner = inner.subcon
        if isinstance(inner, c.Enum):
            values = ", ".join(f"{name} = {value}" for value, name in inner.ksymapping.items())
            return f"{docs} Values: {values}.".strip()
        if isinstance(inner, c.FlagsEnum):
            flags = ", ".join(f"{name} = {value:#x}" for name, value in inner.flags.items())
            return f"{docs} Flags: {flags}.".strip()
        return docs

    # -- fields --------------------------------------------------------------------------------
    def fields(self, struct: c.Construct) -> list[Field]:
        rows: list[Field] = []
        inner = peel(struct)[2]
        if isinstance(inner, c.Struct):
            self._struct(inner, "", 0, Offset(None, 0), rows)
        else:  # a documented non-struct (an array, a switch...): one row for the whole thing
            self._member(None, peel(struct)[1], inner, "", 0, Offset(None, 0), rows)
        return rows

    def _struct(self, struct: c.Struct, prefix: str, depth: int, offset: Offset,
                rows: list[Field]) -> Offset:
        for sub in struct.subcons:
            name, docs, inner = peel(sub)
            offset = self._member(name or f"({self._unnamed(inner)})", docs, inner,
                                  prefix, depth, offset, rows)
        return offset

    @staticmethod
    def _unnamed(con) -> str:
        return "padding" if isinstance(con, c.Padded) and con.subcon is c.Pass else "unnamed"

    def _member(self, name: str | None, docs: str, con: c.Construct, prefix: str, depth: int,
                offset: Offset, rows: list[Field]) -> Offset:
        """Add the row(s) for one member at ``offset``; return the offset after it."""
        size, size_text = self.size_of(con)
        path = prefix + (name or "")
        if isinstance(con, (c.Computed, c.Check)) or (size == 0 and con is c.Pass):
            return offset  # no bytes: nothing to lay out
        if path:
            rows.append(Field(path, depth, offset, size, size_text, self.type_of(con),
                              self.meaning_of(docs, con)))
        self._children(con, path, depth + (1 if path else 0), offset, rows)
        if size is not None:
            return offset.plus(size)
        return Offset(f"end of {path}" if path else "end", 0)

    def _children(self, con: c.Construct, path: str, depth: int, offset: Offset,
                  rows: list[Field]) -> None:
        if id(con) in self.known:
            return  # documented on its own; the type column links to it
        while _transparent(con):
            con = con.subcon
        if isinstance(con, c.Struct):
            self._struct(con, f"{path}." if path else "", depth, offset, rows)
        elif isinstance(con, c.Transformed) and isinstance(con.subcon, c.Struct):
            self._bits(con.subcon, path, depth, offset, rows)
        elif (element := _element(con)) is not None:
            element = peel(element)[2]
            if isinstance(element, c.Struct) and id(element) not in self.known:
                self._struct(element, f"{path}[i].", depth, Offset(f"{path}[i]", 0), rows)
        elif isinstance(con, c.Switch):
            cases = list(con.cases.items())
            if con.default is not c.Pass:
                cases.append(("any other", con.default))
            for key, case in cases:
                key_text = key if isinstance(key, (int, str)) else _literal(key)
                self._member(f"⟨{expression(con.keyfunc)} = {key_text}⟩", "", case,
                             f"{path} ", depth, offset, rows)
        elif isinstance(con, c.IfThenElse):
            self._children(con.thensubcon, path, depth, offset, rows)

    def _bits(self, struct: c.Struct, path: str, depth: int, offset: Offset,
              rows: list[Field]) -> None:
        """The members of a BitStruct: sizes in bits, first bit counted from the most
        significant bit of the first byte (construct's order)."""
        bit = 0
        for sub in struct.subcons:
            name, docs, inner = peel(sub)
            width = static_size(inner)
            if width is None:
                return
            bits = f"bit {bit}" if width == 1 else f"bits {bit}–{bit + width - 1}"
            rows.append(Field(f"{path}.{name or 'unnamed'}", depth, offset.plus(bit // 8), None,
                              f"{width} bit{'s' if width > 1 else ''}",
                              f"{'flag' if width == 1 else self.type_of(inner)} ({bits})",
                              self.meaning_of(docs, inner)))
            bit += width


def structure_size(struct: c.Construct) -> str:
    """The whole structure's size in words: ``"24 bytes"``, or ``"variable"``."""
    size = static_size(struct)
    return "variable" if size is None else f"{size} bytes"
