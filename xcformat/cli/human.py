"""Output an operator reads at a glance: sizes in units, aligned ``key: value`` columns, tables."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ..units import binary


def size(n: int | None, *, exact: bool = True) -> str:
    """``n`` bytes in binary units, with the exact count unless not ``exact``:
    ``3.9 MiB (4125916 bytes)``."""
    if n is None:
        return "-"
    if not exact or n < 1024:
        return binary(n)
    return f"{binary(n)} ({n} bytes)"


def count(n: int, noun: str) -> str:
    """``1 page batch``, ``2 page batches``, ``3 vCPUs``."""
    if n == 1:
        return f"{n} {noun}"
    return f"{n} {noun}{'es' if noun.endswith(('ch', 's', 'x')) else 's'}"


def value(v) -> str:
    """One value of a ``key: value`` line."""
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, Mapping):
        return ", ".join(f"{k} {x}" for k, x in v.items()) or "-"
    if isinstance(v, (list, tuple)):
        return ", ".join(map(str, v)) or "-"
    return str(v)


def table(header: Iterable[str], rows: Iterable[Iterable[str]]) -> list[str]:
    """Rows under a header, each column as wide as its widest cell."""
    lines = [list(header), *(list(r) for r in rows)]
    widths = [max(len(line[i]) if i < len(line) else 0 for line in lines)
              for i in range(len(lines[0]))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip() for line in lines]


def columns(pairs: Iterable[tuple[str, object]]) -> str:
    """``key: value`` lines with the values in one column.  A value that is a mapping of
    mappings (registers by vCPU, say) becomes a small table, indented under its key."""
    pairs = list(pairs)
    width = max((len(k) for k, _ in pairs), default=0) + 2
    out = []
    for key, v in pairs:
        label = f"{key}:".ljust(width)
        if isinstance(v, Mapping) and v and all(isinstance(x, Mapping) for x in v.values()):
            names = list(dict.fromkeys(n for x in v.values() for n in x))
            rows = table(["", *names], ([str(k), *(str(x.get(n, "-")) for n in names)]
                                        for k, x in v.items()))
            out.append(label + rows[0])
            out += [" " * width + row for row in rows[1:]]
        else:
            out.append(label + value(v))
    return "\n".join(out)
