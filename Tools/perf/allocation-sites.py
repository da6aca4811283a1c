#!/usr/bin/env python3
"""Groups the call stacks that the allocation counter writes with
ALLOCATION_COUNTER_BACKTRACE=1 into allocation sites, most frequent first.

    ALLOCATION_COUNTER_BACKTRACE=1 swift test -c release -Xswiftc -enable-testing \\
        --no-parallel --filter SampleAllocationTests > log.txt 2>&1
    python3 Tools/perf/allocation-sites.py log.txt [frames]

Each stack is symbolised with llvm-symbolizer and demangled; a site is the
first `frames` (default 4) frames outside the allocator and the Swift runtime.
"""
import collections
import re
import subprocess
import sys

log = open(sys.argv[1], errors="replace").read()
depth = int(sys.argv[2]) if len(sys.argv) > 2 else 4
frame = re.compile(r"^(\S+)\((?:[^)+]*)\+(0x[0-9a-f]+)\)\[0x[0-9a-f]+\]$")
stacks = [[m.groups() for m in map(frame.match, chunk.splitlines()) if m] for chunk in log.split("--- counted allocation")[1:]]

cache = {}
def symbols(binary, offset):
    """The frame's function and the functions inlined into it, innermost first, with their lines."""
    key = (binary, offset)
    if key not in cache:
        lines = subprocess.run(["llvm-symbolizer", "--obj", binary, "--functions=short", "--inlines", offset],
                               capture_output=True, text=True).stdout.strip().split("\n")
        names = subprocess.run(["swift-demangle", "--simplified", "--compact"], input="\n".join(lines[0::2]),
                               capture_output=True, text=True).stdout.strip().split("\n")
        where = [l.rsplit("/", 1)[-1].rsplit(":", 1)[0] for l in lines[1::2]]
        cache[key] = [f"{n} ({w})" for n, w in zip(names, where)]
    return cache[key]

skip = re.compile(r"^\?\? |^init \(<compiler|swift_(allocObject|slowAlloc|allocBox|retain|allocEmptyBox)|^_?malloc|^\?\?$|_allocateUninitialized|allocateBuffer|_ContiguousArrayBuffer|_copyToContiguous|_ArrayBuffer|ManagedBuffer|swift::|^operator new|_copyContents|createStorage")
sites = collections.Counter()
for stack in stacks:
    names = [n for b, o in stack if "libc.so" not in b for n in symbols(b, o)]
    kept = [n for n in names if not skip.search(n)][:depth]
    sites[" <- ".join(kept)] += 1
for site, count in sites.most_common():
    print(f"{count:6d}  {site}")
