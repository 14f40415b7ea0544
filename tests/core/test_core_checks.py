"""Every numbered dump check the validator reports is listed, at the level it is reported."""

import re
from pathlib import Path

from xcformat.core.checks import CHECKS

CORE = Path(__file__).resolve().parents[2] / "xcformat" / "core"
CALL = re.compile(r"\.(fatal|error|warn|info)\(\s*(\d+)\s*,")
LEVEL = {"fatal": "error", "error": "error", "warn": "warning", "info": "info"}
#: Checks whose level depends on the case (their text says when).
TWO_LEVELS = {2, 13, 28}


def reported() -> list[tuple[str, int, str]]:
    return [(path.name, int(number), LEVEL[method])
            for path in sorted(CORE.glob("*.py"))
            for method, number in CALL.findall(path.read_text())]


def test_every_reported_check_is_listed_at_its_level():
    calls = reported()
    assert len({number for _, number, _ in calls}) > 50
    for where, number, level in calls:
        assert number in CHECKS, f"{where}: dump check #{number} is not in xcformat.core.checks"
        if number not in TWO_LEVELS:
            assert CHECKS[number][0] == level, (where, number)


def test_the_list_is_numbered_from_1_without_gaps():
    assert list(CHECKS) == list(range(1, len(CHECKS) + 1))
    assert all(level in ("error", "warning", "info") for level, _ in CHECKS.values())
