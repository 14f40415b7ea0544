"""The benchmark behind ``tools/bench``: conversions in every ``--io`` mode side by side with
``dd`` direct, ``cp`` and (where given) the Xen project's converter, each from a cold page
cache, measuring wall time, throughput, page-cache growth and peak memory.

Benchmarks are not tests: nothing here asserts a time; the report states the numbers and how
they compare with the project's targets (see :mod:`xcformat.bench.report`).
"""
