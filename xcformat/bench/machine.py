"""What the benchmark ran on, for the report's header."""

from __future__ import annotations

import datetime
import os
import platform

from ..io.probe import mount_of


def _first(path: str, key: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as file:
            for line in file:
                if line.startswith(key):
                    return line.split(":", 1)[1].strip()
    except OSError:
        return None
    return None


def facts(directory: str) -> dict[str, str]:
    mem_kib = _first("/proc/meminfo", "MemTotal")
    mount = mount_of(directory)
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": _first("/proc/cpuinfo", "model name") or platform.processor() or "unknown",
        "cores": str(os.cpu_count()),
        "ram": f"{int(mem_kib.split()[0]) / (1 << 20):.1f} GiB" if mem_kib else "unknown",
        "kernel": platform.release(),
        "file system": f"{mount.fstype} at {mount.point}",
        "python": platform.python_version(),
    }
