"""The guest's memory pattern (written by guest-init.sh's awk), recomputed here to find it."""

from __future__ import annotations

PAGE_SIZE = 4096
MAGIC = b"xcfpat page "


def expected_page(index: int, seed: str) -> bytes:
    lines = []
    for line in range(64):
        text = f"xcfpat page {index:08d} seed {seed} line {line:02d} "
        lines.append(text + "." * (63 - len(text)) + "\n")
    return "".join(lines).encode()


def find(pages: dict[int, bytes], count: int, seed: str) -> tuple[dict[int, int], list[int]]:
    """({pattern page index: pfn holding it intact}, [pfns that start like one but differ])."""
    found, damaged = {}, []
    for pfn, data in pages.items():
        if data.startswith(MAGIC):
            index = int(data[12:20])
            if index < count and data == expected_page(index, seed):
                found[index] = pfn
            else:
                damaged.append(pfn)
    return found, damaged
