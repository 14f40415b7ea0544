"""Read a dump with libkdumpfile and print what it saw as JSON (pages as sha256) (run under the system Python
that Debian's python3-libkdumpfile is built for, in a subprocess: it segfaults on EM_386).

usage: kdumpfile_check.py DUMP PFN[,PFN...] [GMFN,...]
"""

import hashlib
import json
import sys

import kdumpfile

path, pfns = sys.argv[1], [int(p, 0) for p in sys.argv[2].split(",") if p]
gmfns = [int(g, 0) for g in sys.argv[3].split(",") if g] if len(sys.argv) > 3 else []
k = kdumpfile.kdumpfile(path)
attr = k.attr
out = {"format": attr["file.format"], "xen_xlat": int(attr["xen.xlat"]), "pages": {},
       "machine_pages": {}, "regs": {}}
try:
    out["cpus"] = int(attr["cpu.number"])
    for cpu in range(out["cpus"]):
        regs = attr["cpu"][str(cpu)]["reg"]
        out["regs"][cpu] = {name: int(regs[name]) for name in ("rip", "rsp", "cr3")}
except (KeyError, kdumpfile.exceptions.NoDataException):
    out["cpus"] = None


def read(space, frame):
    try:
        return hashlib.sha256(k.read(space, frame << 12, 4096)).hexdigest()
    except kdumpfile.exceptions.NoDataException:
        return None


for pfn in pfns:
    out["pages"][pfn] = read(kdumpfile.KDUMP_KPHYSADDR, pfn)
for gmfn in gmfns:
    out["machine_pages"][gmfn] = read(kdumpfile.KDUMP_MACHPHYSADDR, gmfn)
json.dump(out, sys.stdout)
