#!/usr/bin/env python3
"""Import cycles between the top-level modules of a crate (the bot's layering check).

Reads every `.rs` file under SRC (default: bot/src), collects the `crate::NAME` paths each
file uses (in `use` lines and inline), and maps NAME to the top-level module it belongs to:
a folder (`adapters/`), a file (`router.rs`), or `lib` for items defined in `lib.rs` itself.
Prints the modules that form cycles (strongly connected components of more than one module),
with the file-level imports that make each edge.

usage: scripts/layers.py [--src bot/src] [--max-cycle-modules N]
Exits 1 when more than N modules (default 0) are caught in cycles: CI can hold the line at
today's figure while the bot crate is untangled, and then at zero.
"""
import argparse
import os
import re
import sys
from collections import defaultdict

PATH = re.compile(r"\bcrate::(\{[^}]*\}|[A-Za-z_][A-Za-z0-9_]*)", re.S)
ITEM = re.compile(r"^pub (?:async )?(?:fn|struct|enum|trait|type|const|static) ([A-Za-z_][A-Za-z0-9_]*)", re.M)
MOD = re.compile(r"^(?:pub(?:\([a-z]+\))? )?mod ([a-z_][a-z0-9_]*);", re.M)
USE_GROUP_NAME = re.compile(r"(?:^|[{,]\s*)([A-Za-z_][A-Za-z0-9_]*)")


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def unit_of(path, src):
    rel = os.path.relpath(path, src)
    first = rel.split(os.sep)[0]
    return first[:-3] if first.endswith(".rs") else first


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", default="bot/src")
    ap.add_argument("--max-cycle-modules", type=int, default=0)
    args = ap.parse_args()
    src = args.src
    lib = open(os.path.join(src, "lib.rs"), encoding="utf-8").read()
    modules = set(MOD.findall(lib))
    lib_items = set(ITEM.findall(lib))
    edges = defaultdict(set)  # unit -> units
    why = defaultdict(set)  # (unit, unit) -> files
    for root, _, files in os.walk(src):
        for f in sorted(files):
            if not f.endswith(".rs"):
                continue
            path = os.path.join(root, f)
            unit = unit_of(path, src)
            if unit == "main":
                continue
            text = strip_comments(open(path, encoding="utf-8").read())
            # tests inside a file do not make layers
            text = text.split("#[cfg(test)]")[0]
            for m in PATH.finditer(text):
                target = m.group(1)
                names = USE_GROUP_NAME.findall(target) if target.startswith("{") else [target]
                for name in names:
                    if name in modules:
                        dest = name
                    elif name in lib_items or name == "self":
                        dest = "lib"
                    else:
                        continue
                    if dest != unit:
                        edges[unit].add(dest)
                        why[(unit, dest)].add(os.path.relpath(path, src))
    # Tarjan's strongly connected components
    index, low, stack, on, comps = {}, {}, [], set(), []
    counter = [0]
    nodes = sorted(set(edges) | {d for ds in edges.values() for d in ds})

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            comps.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in nodes:
        if v not in index:
            visit(v)
    cycles = [c for c in comps if len(c) > 1]
    caught = sum(len(c) for c in cycles)
    for c in cycles:
        print(f"cycle among {len(c)} modules: {', '.join(c)}")
        for a in c:
            for b in sorted(edges[a]):
                if b in c:
                    print(f"  {a} -> {b}: {', '.join(sorted(why[(a, b)]))}")
    print(f"{caught} of {len(nodes)} top-level modules of {src} are caught in import cycles (allowed: {args.max_cycle_modules})")
    return 1 if caught > args.max_cycle_modules else 0


if __name__ == "__main__":
    sys.exit(main())
