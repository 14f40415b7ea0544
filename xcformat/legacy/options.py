"""The options only a legacy stream is written with (its format's own, see
:class:`~xcformat.formats.Capabilities`)."""

from __future__ import annotations

from dataclasses import dataclass

from ..formats import option


@dataclass(frozen=True)
class LegacyOptions:
    """What only a legacy stream is written with."""

    #: The toolstack's word size (W, bits): the width of every ``unsigned long`` the stream holds.
    toolstack_bits: int | None = option(
        "--output-width", "toolstack word size of the legacy stream to write (default: the "
        "input's, else 64)", choices=(32, 64))
