"""Turning page batches into PAGE_DATA records: as they come, or sized so every page is aligned.

Plain: one record per incoming batch (split at 1024 entries, the Xen saver's limit).

Aligned (docs/reference/maps.rst): a record starting at file offset R has its first page at
R + 16 + 8·count, so count is chosen to make that a multiple of 4096: c0 = ((4096 − (R + 16)) mod
4096) / 8, plus 512 while the count stays ≤ 1024 (a full record then takes 1022 entries and ends
4096-aligned, so the next one does too).  Pages are gathered into one batch buffer (copied once, in
bulk); a batch that ends short (before another record, or at the end) is filled up to the smallest
aligned count by re-sending pages it already holds, with identical content: legal, because a
restorer lets the last copy of a pfn win.  A record without data pages needs no filling.
"""

from __future__ import annotations

from collections.abc import Callable

from ..codec import head
from ..errors import UnsupportedError
from ..io import aligned_buffer
from ..records import DATA_TYPES, PAGE_SIZE
from . import pfns
from .schema import MAX_BATCH, RecType, page_data_header

ALIGN = 4096
#: Counts that keep the alignment differ by this (512 entries = 4096 bytes of pfn array).
STEP = ALIGN // 8
#: Bytes from a PAGE_DATA record's start to its pfn array (record header, count, reserved).
HEAD = 16
PFN_LIMIT = 1 << 52
#: 1 for each type value (0-15) that carries a page of data.
_DATA_FLAG = bytes(1 if b in DATA_TYPES else 0 for b in range(256))

WriteRecord = Callable[[int, list], None]


def _checked(pfn_list) -> None:
    if pfn_list and max(pfn_list) >= PFN_LIMIT:
        raise UnsupportedError(f"pfn {max(pfn_list):#x} does not fit the 52 bits of a v2 entry")


class PlainBatcher:
    def __init__(self, write_record: WriteRecord):
        self.write_record = write_record

    def add(self, pfn_list: tuple[int, ...], types: bytes, data: memoryview) -> None:
        _checked(pfn_list)
        flags = types.translate(_DATA_FLAG)
        page = 0
        for lo in range(0, len(pfn_list), MAX_BATCH):
            hi = min(len(pfn_list), lo + MAX_BATCH)
            pages = flags.count(1, lo, hi)
            self.write_record(RecType.PAGE_DATA, [
                _count_header(hi - lo), pfns.entries(pfn_list[lo:hi], types[lo:hi]),
                data[page * PAGE_SIZE:(page + pages) * PAGE_SIZE]])
            page += pages

    def flush(self) -> None:
        """Nothing is held."""


class AlignedBatcher:
    """Gathers pages into one record of an aligned count; two buffers, swapped per record.

    The buffer just written stays as the *pool*: a short batch is filled first with the pool's
    pages whose pfns the batch does not hold (their content is still the latest, since nothing
    was sent after them but the batch), so the record repeats no pfn; only when the pool runs
    short (a guest smaller than two records) does the batch repeat its own pages.
    """

    def __init__(self, write_record: WriteRecord, offset: Callable[[], int]):
        self.write_record = write_record
        self.offset = offset
        # io's buffers: a bare mmap(-1) is shared memory, which the kernel counts as page cache.
        self.view, self.pool_view = (memoryview(aligned_buffer(MAX_BATCH * PAGE_SIZE))
                                     for _ in range(2))
        self.pool: dict[int, tuple[int, int]] = {}   # pfn -> (type, page index), last copy
        self.pfns: list[int] = []
        self.held: set[int] = set()
        self.types = bytearray()
        self.pages = 0
        self.first_count = 0   # c0 for the record being gathered

    def add(self, pfn_list: tuple[int, ...], types: bytes, data: memoryview) -> None:
        _checked(pfn_list)
        flags = types.translate(_DATA_FLAG)
        done = page = 0
        while done < len(pfn_list):
            if not self.pfns:
                self._start()
            room = self._capacity() - len(self.pfns)
            end = min(len(pfn_list), done + room)
            repeat = self._first_repeat(pfn_list, done, end)
            if repeat == done:
                self.flush()   # a re-sent pfn starts a new record, so no record repeats one
                continue
            end = repeat
            pages = flags.count(1, done, end)
            self.view[self.pages * PAGE_SIZE:(self.pages + pages) * PAGE_SIZE] = \
                data[page * PAGE_SIZE:(page + pages) * PAGE_SIZE]
            self.pfns.extend(pfn_list[done:end])
            self.held.update(pfn_list[done:end])
            self.types += types[done:end]
            self.pages += pages
            page += pages
            done = end
            if len(self.pfns) == self._capacity():
                self._write(len(self.pfns))

    def _first_repeat(self, pfn_list, lo: int, hi: int) -> int:
        """Index of the first entry in ``lo .. hi`` whose pfn the batch already holds, or hi."""
        if self.held.isdisjoint(pfn_list[lo:hi]):
            return hi
        return next(i for i in range(lo, hi) if pfn_list[i] in self.held)

    def _start(self) -> None:
        start = self.offset()
        if start % 8:
            raise UnsupportedError(f"PAGE_DATA would start at offset {start}, not a multiple "
                                   "of 8: pages cannot be aligned")
        self.first_count = (-(start + HEAD) % ALIGN) // 8 or STEP

    def _capacity(self) -> int:
        return self.first_count + STEP * ((MAX_BATCH - self.first_count) // STEP)

    def flush(self) -> None:
        """Write what is gathered, filled up to the smallest aligned count."""
        if not self.pfns:
            return
        if not self.pages:
            self._write(len(self.pfns))
            return
        count = self.first_count
        while count < len(self.pfns):
            count += STEP
        missing = self._fill_from_pool(count - len(self.pfns))
        self._fill_from_batch(missing)
        self._write(count)

    def _fill_from_pool(self, missing: int) -> int:
        """Re-send up to ``missing`` pool pages the batch does not hold; return how many lack."""
        chosen = sorted((index, pfn, ptype) for pfn, (ptype, index) in self.pool.items()
                        if pfn not in self.held)[:missing]
        run_start = run_len = 0
        for index, pfn, ptype in chosen:
            if run_len and index == run_start + run_len:
                run_len += 1
                continue
            self._copy_pool_run(run_start, run_len)
            run_start, run_len = index, 1
        self._copy_pool_run(run_start, run_len)
        self.pfns.extend(pfn for _, pfn, _ in chosen)
        self.types += bytes(ptype for _, _, ptype in chosen)
        return missing - len(chosen)

    def _copy_pool_run(self, start: int, length: int) -> None:
        """Pool pages ``start .. start + length`` onto the batch, in one copy."""
        if length:
            self.view[self.pages * PAGE_SIZE:(self.pages + length) * PAGE_SIZE] = \
                self.pool_view[start * PAGE_SIZE:(start + length) * PAGE_SIZE]
            self.pages += length

    def _fill_from_batch(self, missing: int) -> None:
        """Re-send ``missing`` pages of the batch itself (same pfn, type and content).

        The buffer holds the data pages in entry order, so re-sending the data-bearing entries
        cyclically copies the buffer's own head, in bulk.
        """
        if not missing:
            return
        with_data = [i for i, t in enumerate(self.types) if t in DATA_TYPES]
        held = len(with_data)
        fill = (with_data * (missing // held + 1))[:missing]
        while missing:
            n = min(missing, held)
            self.view[self.pages * PAGE_SIZE:(self.pages + n) * PAGE_SIZE] = \
                self.view[:n * PAGE_SIZE]
            self.pages += n
            missing -= n
        self.pfns.extend(self.pfns[i] for i in fill)
        self.types += bytes(self.types[i] for i in fill)

    def _write(self, count: int) -> None:
        types = bytes(self.types)
        self.write_record(RecType.PAGE_DATA, [
            _count_header(count), pfns.entries(self.pfns, types),
            self.view[:self.pages * PAGE_SIZE]])
        if self.pages:
            self.pool = {}
        # Data page k belongs to the k-th data-bearing entry; a later entry for the same pfn
        # wins, and one without data (XTAB...) takes the pfn out of the pool.
        k = 0
        for pfn, flag, ptype in zip(self.pfns, types.translate(_DATA_FLAG), types):
            if flag:
                self.pool[pfn] = (ptype, k)
                k += 1
            else:
                self.pool.pop(pfn, None)
        if self.pages:
            self.view, self.pool_view = self.pool_view, self.view
        self.pfns = []
        self.held = set()
        self.types = bytearray()
        self.pages = 0


_COUNT_HEAD = head(page_data_header, "reserved")


def _count_header(count: int) -> bytes:
    return _COUNT_HEAD.build({"count": count, "reserved": 0})

