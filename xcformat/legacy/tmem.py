"""The tmem chunks -5 and -6: no length field, so the reader must walk them (xc_tmem.c).

Both are returned as their raw payload bytes (an ``Opaque`` record), exactly as stored.
"""

from __future__ import annotations


from construct import ConstructError

from ..errors import UnsupportedError
from ..codec import head
from .schema import TMEM_EXTRA_ENTRY, TMEM_HEADER, TMEM_POOL

END = 0xFFFFFFFF
ALL_ONES_OID = b"\xff" * 24
#: Pools per client in Xen's tmem (MAX_POOLS_PER_DOMAIN); larger counts are not tmem.
MAX_POOLS = 16
#: Tmem chunks are held in memory as one record; larger ones are refused.
MAX_TMEM = 64 << 20
PAGE_ITEM_HEAD = 28       # u64 oid[3] + u32 index
POOL_ID = head(TMEM_POOL, "pool_id")
EXTRA_POOL_ID = head(TMEM_EXTRA_ENTRY, "pool_id")


class _Collector:
    """Reads through the cursor and keeps a copy of every byte, bounded by MAX_TMEM."""

    def __init__(self, cursor):
        self.cursor = cursor
        self.data = bytearray()

    def read(self, n: int, field: str) -> bytes:
        if len(self.data) + n > MAX_TMEM:
            raise UnsupportedError(f"{self.cursor.source.name}: tmem chunk larger than "
                                   f"{MAX_TMEM >> 20} MiB at offset {self.cursor.offset:#x}")
        piece = bytes(self.cursor.read(n, field))
        self.data += piece
        return piece


def read_tmem(cursor) -> bytes:
    """Chunk -5: client header, then pools with their persistent pages, then 0xFFFFFFFF."""
    take = _Collector(cursor)
    start = cursor.offset
    try:
        header = TMEM_HEADER.parse(take.read(TMEM_HEADER.sizeof(), "tmem.header"))
    except ConstructError:
        raise cursor.error("tmem header markers are not 0xFFFFFFFF", "tmem.header",
                           start) from None
    if header.max_pools > MAX_POOLS:
        raise cursor.error(f"tmem max_pools {header.max_pools} (at most {MAX_POOLS})",
                           "tmem.max_pools", start + 4)
    last_pool = -1
    while True:
        at = cursor.offset
        raw_id = take.read(POOL_ID.sizeof(), "tmem.pool_id")
        pool_id = POOL_ID.parse(raw_id).pool_id
        if pool_id == END:
            return bytes(take.data)
        if not last_pool < pool_id < header.max_pools:
            raise cursor.error(f"tmem pool id {pool_id} out of order or >= max_pools "
                               f"{header.max_pools}", "tmem.pool_id", at)
        last_pool = pool_id
        pool = TMEM_POOL.parse(raw_id + take.read(TMEM_POOL.sizeof() - len(raw_id),
                                                  "tmem.pool"))
        shift = (pool.pool_flags >> 4) & 0xF
        if shift:
            raise cursor.error(f"tmem pool {pool_id}: page size {1 << (shift + 12)} (x86 "
                               "tmem pages are 4096 bytes)", "tmem.pool_flags", at + 4)
        cursor.check_fits(pool.n_pages * (PAGE_ITEM_HEAD + 4096), "tmem.n_pages")
        for _ in range(pool.n_pages):
            oid = take.read(24, "tmem.page.oid")
            if oid == ALL_ONES_OID:
                break
            take.read(4 + 4096, "tmem.page")


def read_tmem_extra(cursor) -> bytes:
    """Chunk -6: 32-byte {pool_id, oid[3], index} entries until a pool_id of 0xFFFFFFFF."""
    take = _Collector(cursor)
    while EXTRA_POOL_ID.parse(take.read(EXTRA_POOL_ID.sizeof(),
                                        "tmem_extra.pool_id")).pool_id != END:
        take.read(TMEM_EXTRA_ENTRY.sizeof() - EXTRA_POOL_ID.sizeof(), "tmem_extra.entry")
    return bytes(take.data)
