"""Byte counts in binary units, as an operator reads them: ``4 KiB``, ``3.9 MiB``, ``512 B``."""

from __future__ import annotations


def binary(n: int) -> str:
    """``n`` bytes in the largest unit that keeps it readable (whole units stay whole)."""
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift and (n >= 10 << 10 or n % (1 << shift) == 0):
            value = n / (1 << shift)
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{n} B"
