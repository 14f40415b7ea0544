"""The options only an aligned file is written with (its format's own, see
:class:`~xcformat.formats.Capabilities`)."""

from __future__ import annotations

from dataclasses import dataclass

from ..formats import option


@dataclass(frozen=True)
class AlignedOptions:
    """What only an aligned file is written with."""

    #: The pfn -> page index at the end, which finds a page with two small reads.
    index: bool = option("--no-index", "leave out the pfn -> page index", True, value=False)
