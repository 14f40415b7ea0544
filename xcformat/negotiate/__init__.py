"""Choosing the format for a peer or a reader: the negotiation protocol between a sender and a
receiver (``xcformat send`` / ``receive``, spec/negotiation.md) and the compatibility targets of
``convert --to auto --for`` (:mod:`.targets`).

A negotiation is a choice among :data:`.options.OPTIONS`; the bytes themselves are always written
by a format's writer and checked by its reader, so the protocol works with whatever formats the
registry holds.
"""
