"""Strategies for valid synthetic guests and their legacy images."""

from __future__ import annotations

from hypothesis import strategies as st

from xcformat.synth import VARIANTS, GuestSpec, legacy_bytes

#: Fields a caller may pin or draw through ``guest_specs(**constraints)``.
_FIELDS = {"guest", "toolstack_bits", "guest_bits", "variant", "pages", "p2m_size", "vcpus",
           "xsave", "xsave_per_vcpu", "wrapper", "qemu", "hvm_params", "special_pages", "tmem",
           "batch", "seed", "checkpoints", "qemu_bytes", "live", "verify", "compression"}


def _choice(draw, constraints: dict, name: str, default):
    """The caller's value for ``name`` (drawn if it is a strategy), else one from ``default``."""
    if name in constraints:
        value = constraints[name]
        return draw(value) if isinstance(value, st.SearchStrategy) else value
    return draw(default)


@st.composite
def _guest_specs(draw, constraints: dict, max_pages: int, max_vcpus: int) -> GuestSpec:
    pick = lambda name, default: _choice(draw, constraints, name, default)   # noqa: E731
    variant = VARIANTS[pick("variant", st.sampled_from(sorted(VARIANTS)))]
    guest = pick("guest", st.sampled_from(sorted(variant.guests)))
    if guest not in variant.guests:
        raise ValueError(f"variant {variant.name} has no {guest} guests")
    pae_only = variant.name == "3.0.4-pae"
    tools = pick("toolstack_bits", st.just(32) if pae_only else st.sampled_from((32, 64)))
    guest_bits = None
    if guest == "pv":
        same = variant.same_width
        guest_bits = pick("guest_bits", st.just(tools) if same else st.sampled_from((32, 64)))
    several = guest == "hvm" or variant.vcpu_info
    max_id = min(max_vcpus - 1, variant.max_vcpu_id if variant.vcpu_info else 63)
    vcpus = pick("vcpus", st.sets(st.integers(1, max_id), max_size=max_vcpus - 1).map(
        lambda ids: (0, *sorted(ids))) if several and max_id > 0 else st.just(1))
    count = vcpus if isinstance(vcpus, int) else len(vcpus)
    floor = count + 12 if guest == "pv" else (1 if variant.hvm_tail == "2007" else 16)
    pages = pick("pages", st.integers(floor, max(floor, max_pages)))
    xsave = pick("xsave", st.booleans() if variant.xsave and guest == "pv" else st.just(False))
    per_vcpu = pick("xsave_per_vcpu", st.booleans() if xsave else st.just(False))
    tmem = pick("tmem", st.booleans() if variant.tmem else st.just(False))
    special = pick("special_pages", st.just(False) if variant.hvm_tail == "2007"
                   and guest == "hvm" else st.booleans())
    live = pick("live", st.just(False) if variant.checkpointed else st.booleans())
    verify = pick("verify", st.just(False) if live or variant.checkpointed else st.booleans())
    # Remus page compression cannot be read from a file (readers must refuse it): only on request.
    compression = pick("compression", st.just(False))
    wrapper = pick("wrapper", st.sampled_from(sorted(variant.wrappers, key=str)))
    qemu_choices = sorted(variant.qemu_allowed, key=str)
    qemu = pick("qemu", st.sampled_from(qemu_choices) if guest == "hvm" else st.none())
    extra = {name: pick(name, st.nothing()) for name in ("p2m_size", "hvm_params", "qemu_bytes")
             if name in constraints}
    if "p2m_size" not in constraints and variant.hvm_tail != "2007":
        slack = draw(st.integers(8, 300))
        extra["p2m_size"] = None if slack == 8 else _data_end(guest, pages) + 4 + slack
    return GuestSpec(
        guest=guest, toolstack_bits=tools, guest_bits=guest_bits, variant=variant.name,
        pages=pages, vcpus=vcpus, xsave=xsave, xsave_per_vcpu=per_vcpu, wrapper=wrapper,
        qemu=qemu,
        special_pages=special, tmem=tmem, live=live, verify=verify, compression=compression,
        batch=pick("batch", st.one_of(st.integers(1, 16), st.integers(17, 1024))),
        seed=pick("seed", st.integers(0, 2**32 - 1)),
        checkpoints=pick("checkpoints", st.integers(1, 3)), **extra)


def _data_end(guest: str, pages: int) -> int:
    return pages + 0x20 if guest == "hvm" and pages > 0xA0 else pages


def guest_specs(*, max_pages: int = 48, max_vcpus: int = 4, **constraints):
    """Valid guest specs of every variant.  ``constraints`` pin a :class:`GuestSpec` field
    (``variant="4.5"``, ``guest="hvm"``) or give a strategy to draw it from.  Every image is one
    a file reader can read, unless you ask for ``compression`` (Remus page compression, which
    readers must refuse; pass ``variant="remus"`` with it)."""
    unknown = set(constraints) - _FIELDS
    if unknown:
        raise TypeError(f"guest_specs: unknown field(s) {sorted(unknown)}")
    if max_vcpus < 1 or max_pages < 1:
        raise ValueError("max_pages and max_vcpus must be at least 1")
    return _guest_specs(constraints, max_pages, max_vcpus)


def spec_images(**constraints):
    """``(spec, legacy image bytes)`` pairs (small; same arguments as :func:`guest_specs`)."""
    return guest_specs(**constraints).map(lambda spec: (spec, legacy_bytes(spec)))


def legacy_images(**constraints):
    """Legacy images as bytes (small; same arguments as :func:`guest_specs`)."""
    return guest_specs(**constraints).map(legacy_bytes)
