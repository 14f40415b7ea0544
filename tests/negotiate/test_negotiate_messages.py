"""The protocol messages: round trips, hostile bytes, and the spec page naming every field."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xcformat.errors import PeerError
from xcformat.negotiate import messages, schema
from xcformat.schema import REGISTRY

SPEC = Path(__file__).resolve().parents[2] / "spec" / "negotiation.md"
ACCEPTS = (messages.Accept("aligned", False, 1, 1, 0), messages.Accept("v2", True, 2, 3, 5))


def pair() -> tuple[socket.socket, socket.socket]:
    a, b = socket.socketpair()
    for s in (a, b):
        s.settimeout(2)
    return a, b


def test_greeting_choice_and_result_round_trip():
    a, b = pair()
    with a, b:
        messages.send_greeting(a, ACCEPTS, "a", 2)
        greeting = messages.await_greeting(b, "b", 2, 2)
        assert greeting.accepts == ACCEPTS and greeting.protocol == schema.PROTOCOL
        choice = messages.Choice(1, "v2", True, 3, 0)
        messages.send_choice(b, choice, "b", 2)
        head = messages.read_head(a, "a", 2)
        assert messages.is_choice(head)
        assert messages.read_choice(a, "a", 2, head) == choice
        result = messages.Result(messages.REFUSED, 12345, "bad page ✗")
        messages.send_result(a, result, "a", 2)
        assert messages.read_result(b, "b", 2) == result


def test_a_greeting_with_too_many_entries_is_refused():
    a, b = pair()
    with a, b:
        messages.send_greeting(a, ACCEPTS * 20, "a", 2)
        with pytest.raises(PeerError, match="40 accept entries"):
            messages.await_greeting(b, "b", 2, 2)


def test_a_greeting_from_a_newer_revision_is_understood_and_its_extension_skipped():
    a, b = pair()
    with a, b:
        a.sendall(schema.GREETING.build(dict(
            protocol=7, flags=0x8001, software="xcformat 9", extension=b"future" * 100,
            accepts=[dict(format="aligned", align=0, min_version=1, max_version=4,
                          features=0xFFFF)])) + b"TRAILING")
        greeting = messages.await_greeting(b, "b", 2, 2)
        assert greeting.protocol == 7 and greeting.accepts[0].max_version == 4
        assert b.recv(8) == b"TRAILING"    # nothing past the message was consumed


_valid_greeting = schema.GREETING.build(dict(
    protocol=1, flags=0, software="x", extension=b"",
    accepts=[dict(format="v2", align=1, min_version=2, max_version=3, features=0)]))


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_mutated_or_truncated_greetings_raise_only_peer_errors(data):
    raw = bytearray(_valid_greeting)
    for _ in range(data.draw(st.integers(0, 4))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    raw = bytes(raw[:data.draw(st.integers(1, len(raw)))])
    a, b = pair()
    with a, b:
        a.sendall(raw)
        a.shutdown(socket.SHUT_WR)
        try:
            greeting = messages.await_greeting(b, "b", 1, 1)
        except PeerError:
            return
        assert greeting is not None and len(greeting.accepts) <= schema.MAX_ACCEPTS


@pytest.mark.parametrize("key", ["greeting", "accept", "choice", "result"])
def test_the_spec_page_describes_every_field_of_every_message(key):
    text = SPEC.read_text()
    struct = REGISTRY[("negotiate", key)].struct
    for sub in struct.subcons:
        assert f"| `{sub.name}` |" in text, f"{key}.{sub.name} missing from {SPEC.name}"
    magic = getattr(schema, f"{key.upper()}_MAGIC", None)
    assert magic is None or magic.hex(" ").upper() in text
