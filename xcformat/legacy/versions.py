"""The Xen versions a legacy stream's features imply.

Legacy streams carry no version.  Each feature seen raises the lower bound (the release that
first wrote it); some absences cap the version from above (a release that always writes a
feature cannot have written a stream without it).  Bounds are tuples, shown as "4.1".
"""

from __future__ import annotations

Version = tuple[int, ...]

#: Feature -> first release that wrote it.
SINCE: dict[str, Version] = {
    "ext-info": (3, 0, 3), "chunk-1": (3, 0), "qemu-xend": (3, 0),
    "chunk-2": (3, 1), "hvm-tail-3.1": (3, 1),
    "extv": (3, 2),
    "chunk-3": (3, 3), "chunk-4": (3, 4),
    "chunk-5": (4, 0), "chunk-6": (4, 0), "chunk-7": (4, 0), "checkpoints": (4, 0),
    "qemu-remus": (4, 0),
    "chunk-8": (4, 1), "chunk-9": (4, 1), "chunk-10": (4, 1), "xcnt": (4, 1),
    "qemu-libxl": (4, 1), "wrapper-xl": (4, 1),
    "chunk-11": (4, 2), "chunk-12": (4, 2), "chunk-13": (4, 2), "chunk-14": (4, 2),
    "chunk-15": (4, 2), "chunk-16": (4, 2), "chunk-17": (4, 2), "chunk-18": (4, 2),
    "xalloc": (4, 2), "vcpus>64": (4, 2),
    "broken": (4, 3),
    "xsave-size-per-vcpu": (4, 4),
    "chunk-19": (4, 5), "chunk-20": (4, 5), "xl-json": (4, 5),
}

#: Absence -> the release from which every stream of that kind has the feature (so a stream
#: without it is older).
ALWAYS_SINCE: dict[str, Version] = {
    "no-chunk-2": (3, 1),        # -2 always written since 3.1 (06cffd6c17)
    "pv-no-ext-info": (3, 2),    # ext-info always written for PV since 3.2 (120bafda14)
    "pv-no-extv": (3, 2),
    "no-chunk-7": (4, 0),        # -7 always written since 4.0 (08a0b4ab0d)
    "pv-xtab-junk": (4, 0),      # getpageframeinfo3: PV XTAB entries exactly 0xF0000000
    "hvm-xtab-junk": (4, 1),
}


def show(version: Version) -> str:
    return ".".join(map(str, version))


class VersionBounds:
    """Accumulates features and absences; :attr:`lower` and :attr:`below` are the bounds."""

    def __init__(self) -> None:
        self.features: set[str] = set()
        self.absences: set[str] = set()

    def saw(self, feature: str) -> None:
        self.features.add(feature)

    def lacks(self, absence: str) -> None:
        self.absences.add(absence)

    def lower(self, excluding: frozenset[str] = frozenset()) -> Version:
        return max((SINCE[f] for f in self.features - excluding), default=(3, 0))

    @property
    def below(self) -> Version | None:
        """The stream predates this release (None when nothing caps it)."""
        return min((ALWAYS_SINCE[a] for a in self.absences), default=None)
