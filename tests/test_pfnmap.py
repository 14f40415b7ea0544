"""PfnMap: per-pfn values whose memory follows the pfns written, not the highest one."""

from array import array

from xcformat.pfnmap import PfnMap


def test_unwritten_pfns_read_blank_and_cost_nothing():
    m = PfnMap("q", -1)
    assert m[0] == -1 and m[0x0FFFFFFE] == -1 and m.allocated == 0


def test_a_pfn_near_2_to_the_32_costs_one_chunk():
    m = PfnMap("q", -1)
    m[0xFFFFFFFE] = 7
    m[3] = 9
    assert (m[0xFFFFFFFE], m[3], m[4]) == (7, 9, -1)
    assert m.allocated == 2 * m.chunk_pfns
    assert [start for start, _ in m.chunks()] == [0, 0xFFFFFFFE & ~(m.chunk_pfns - 1)]


def test_swap_returns_the_old_value():
    m = PfnMap("q", -1)
    assert m.swap(10, 5) == -1 and m.swap(10, 6) == 5 and m[10] == 6


def test_a_run_across_chunks_lands_in_order_and_returns_what_it_replaced():
    m = PfnMap("B", 0xFF, chunk_bits=6)
    first = 60
    assert list(m.put_run(first, array("B", range(10)))) == [0xFF] * 10
    assert [m[first + i] for i in range(10)] == list(range(10))
    assert list(m.put_run(first + 5, array("B", [1, 2]))) == [5, 6]
    assert m.allocated == 2 * 64


def test_a_blank_made_per_chunk_gives_each_pfn_its_own_default():
    m = PfnMap("Q", lambda base: array("Q", range(base, base + 512)))
    assert m[1000] == 1000
    m[1000] = 5
    assert (m[1000], m[1001], m[999]) == (5, 1001, 999)
