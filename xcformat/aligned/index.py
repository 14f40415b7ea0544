"""The pfn -> page index of aligned v1: built while writing (or checking), found from the trailer.

Rule (shared with the scan in :mod:`xcformat.pagefind`): the latest entry for a pfn wins; an
entry with data sets the pfn's block, BROKEN or XALLOC clears it, XTAB is ignored (its pfn
bits are junk in legacy streams: spec/legacy.md, page batch header).
"""

from __future__ import annotations

import bisect
from array import array
from collections.abc import Iterator

from ..formats import PageFound
from ..io import Source
from ..records import DATA_TYPES, PAGE_SIZE, PageType
from . import schema as s
from ..codec import parse_bytes

_EMPTY_LEAF = bytes(4 * s.LEAF_PFNS)
_XTAB = PageType.XTAB
_DATA_BYTES = bytes(sorted(DATA_TYPES))


def _all_data(types: bytes) -> bool:
    return not types.translate(None, _DATA_BYTES)


class IndexBuilder:
    """Collects the latest block of every pfn; memory is 4 KiB per 1024-pfn range touched."""

    def __init__(self) -> None:
        self._leaves: dict[int, array] = {}

    def add(self, pfns: tuple[int, ...], types: bytes, first_block: int) -> None:
        if _all_data(types) and pfns == tuple(range(pfns[0], pfns[0] + len(pfns))):
            self._add_run(pfns[0], len(pfns), first_block)
            return
        block = first_block
        for pfn, kind in zip(pfns, types):
            if kind == _XTAB:
                continue
            leaf = self._leaf(pfn >> 10)
            if kind in DATA_TYPES:
                leaf[pfn & 1023] = block
                block += 1
            else:
                leaf[pfn & 1023] = 0

    def _leaf(self, key: int) -> array:
        leaf = self._leaves.get(key)
        if leaf is None:
            leaf = self._leaves[key] = array("I", _EMPTY_LEAF)
        return leaf

    def _add_run(self, pfn: int, count: int, block: int) -> None:
        """The common case, a run of consecutive pfns all with data: slices, not entries."""
        end = pfn + count
        while pfn < end:
            key, slot = pfn >> 10, pfn & 1023
            take = min(end - pfn, s.LEAF_PFNS - slot)
            self._leaf(key)[slot:slot + take] = array("I", range(block, block + take))
            pfn, block = pfn + take, block + take

    def pages(self) -> int:
        return sum(len(leaf) - leaf.count(0) for leaf in self._leaves.values())

    def keys(self) -> list[int]:
        return sorted(self._leaves)

    def body(self) -> Iterator[bytes]:
        """The INDEX record body, in pieces (head, keys, then one piece per leaf)."""
        keys = self.keys()
        yield s.INDEX_HEAD.build({"leaf_count": len(keys), "reserved": 0, "pages": self.pages()})
        yield array("Q", keys).tobytes()
        for key in keys:
            yield self._leaves[key].tobytes()

    def leaf_bytes(self, key: int) -> bytes:
        return self._leaves[key].tobytes()


def index_length(leaf_count: int) -> int:
    return s.INDEX_HEAD.sizeof() + leaf_count * (8 + 4 * s.LEAF_PFNS)


def lookup(source: Source, pfn: int) -> PageFound | None:
    """The latest copy of ``pfn``'s page, found through the index without reading the pages.

    None when the file cannot be read at random (a pipe) or has no index: the caller scans.
    """
    size = source.size
    if not source.seekable or size is None:
        return None
    trailer_size = s.TRAILER.sizeof()
    if size < s.BLOCK * 2 or size % s.BLOCK:
        raise source.error(f"file size {size} is not a whole number (>= 2) of 4096-byte "
                           "blocks", "file_size", size)
    trailer = parse_bytes(s.TRAILER, source.pread(size - trailer_size, trailer_size, "trailer"),
                           source, size - trailer_size, "trailer")
    if trailer.index_offset == 0:
        return None
    at = trailer.index_offset
    if at % 8 or not s.BLOCK <= at < trailer.end_offset:
        raise source.error(f"index offset {at:#x} outside the records", "trailer.index_offset",
                           size - trailer_size + 8)
    header = parse_bytes(s.RECORD_HEADER, source.pread(at, 16, "index.header"), source, at,
                          "index.header")
    if header.type != s.TYPE_INDEX:
        raise source.error(f"the trailer's index offset holds a record of type {header.type}",
                           "index.type", at)
    head = parse_bytes(s.INDEX_HEAD, source.pread(at + 16, s.INDEX_HEAD.sizeof(), "index"),
                        source, at + 16, "index")
    if index_length(head.leaf_count) != header.length or at + 16 + header.length > size:
        raise source.error(f"index of {head.leaf_count} leaves does not fit its record "
                           f"({header.length} bytes)", "index.leaf_count", at + 16)
    keys_at = at + 16 + s.INDEX_HEAD.sizeof()
    keys = array("Q", source.pread(keys_at, 8 * head.leaf_count, "index.leaf_key"))
    slot = bisect.bisect_left(keys, pfn >> 10)
    if slot == len(keys) or keys[slot] != pfn >> 10:
        return PageFound(None, None, "index")
    leaves_at = keys_at + 8 * head.leaf_count
    entry_at = leaves_at + slot * 4 * s.LEAF_PFNS + 4 * (pfn & 1023)
    block = array("I", source.pread(entry_at, 4, "index.leaf"))[0]
    if block == 0:
        return PageFound(None, None, "index")
    offset = block * s.BLOCK
    if offset + PAGE_SIZE > trailer.end_offset:
        raise source.error(f"index sends pfn {pfn:#x} to block {block}, past the page data",
                           "index.leaf", entry_at)
    return PageFound(source.pread(offset, PAGE_SIZE, "page_data"), offset, "index")


def check_against(builder: IndexBuilder, pieces: Iterator[tuple[int, bytes]],
                  source: Source) -> None:
    """Compare a stored index to ``builder``: ``pieces`` gives (offset, bytes) of the leaf keys,
    then of each leaf."""
    keys = builder.keys()
    offset, stored_keys = next(pieces)
    if list(array("Q", stored_keys)) != keys:
        raise source.error("the index's leaf keys differ from the pfns in the page batches",
                           "index.leaf_key", offset)
    for key in keys:
        offset, stored = next(pieces)
        if stored != builder.leaf_bytes(key):
            raise source.error(f"index leaf for pfns {key << 10:#x}.. differs from the page "
                               "batches (a pfn points to a block that is not its latest copy)",
                               "index.leaf", offset)
