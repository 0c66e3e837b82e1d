#!/usr/bin/env python3
"""Import cycles in a crate (the bot's layering check): between top-level modules, and
between files of different folders.

Reads every `.rs` file under SRC (default: bot/src); `main.rs` is skipped, and so is
everything after the first `#[cfg(test)]` in a file (tests do not make layers) and comments.
Two checks run (both by default, or one with --check):

modules: collects the `crate::NAME` paths each file uses (in `use` lines and inline), and
    maps NAME to the top-level module it belongs to: a folder (`adapters/`), a file
    (`router.rs`), or `lib` for items defined in `lib.rs` itself. Prints the modules that
    form cycles (strongly connected components of more than one module), with the
    file-level imports that make each edge. Fails when more than --max-cycle-modules
    modules (default 0) are caught in cycles.

files: builds a graph of the files of the crate's module tree (from `lib.rs` through
    `mod x;` declarations; a module is `x.rs` or `x/mod.rs`, and `x.rs` may have
    submodules in `x/`). A file imports the file that *defines* each item it names by a
    path: `crate::a::b::C`, `super::C`, `self::C`, a path relative to the current module
    in a `use` (`use guard::Guard;` where `mod guard;` is declared, or a name another `use`
    brought in), `use` groups (`use crate::{a::B, c::{d, e}}`) and globs (`use super::*`:
    an edge for each name of the file that the glob brings in). A path is resolved by
    walking its modules, then looking the last name up among the module's items
    (`pub`/private `fn struct enum union trait type const static mod macro_rules!`) or
    following its `use`/`pub use` re-exports (`pub use child::{A, B as C};`,
    `pub use child::*;`, `pub use crate::x::Name;`) to the defining file. A path that
    cannot be resolved goes to the deepest module file reached; an item re-exported from
    another crate goes to the file that re-exports it. `mod child;` alone is no edge.
    Prints every strongly connected component whose files are not all in one folder, with
    the names that make each edge inside it. Components inside one folder (a `mod.rs` and
    its children using each other through `super::`) are allowed; the files directly in
    SRC (`lib.rs`, `router.rs`, ...) are one folder, `./`, whose cycles the module check
    sees. Fails when there are more than --max-file-cycles such components (default 0).
    Not edges: method calls, macro invocations (`tr!`), names a macro defines (a path to
    one goes to the deepest module reached). Files outside the module tree (`bin/`,
    test-only modules) are not checked; others are listed as such.

usage: scripts/layers.py [--src bot/src] [--check all|modules|files]
                         [--max-cycle-modules N] [--max-file-cycles N] [--edges]
--edges prints the whole file graph (and the paths that fell back) before the file check.
Exits 1 when a check fails: CI can hold the line at today's figures while the bot crate is
untangled, and then at zero.
"""
import argparse
import os
import re
import sys
from collections import defaultdict

# ---------------------------------------------------------------- top-level module check

PATH = re.compile(r"\bcrate::(\{[^}]*\}|[A-Za-z_][A-Za-z0-9_]*)", re.S)
ITEM = re.compile(r"^pub (?:async )?(?:fn|struct|enum|trait|type|const|static) ([A-Za-z_][A-Za-z0-9_]*)", re.M)
MOD = re.compile(r"^(?:pub(?:\([a-z]+\))? )?mod ([a-z_][a-z0-9_]*);", re.M)
USE_GROUP_NAME = re.compile(r"(?:^|[{,]\s*)([A-Za-z_][A-Za-z0-9_]*)")


def strip_comments(text):
    """`text` without `/* */` and `//` comments (the module check's simple version)."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def unit_of(path, src):
    """The top-level module of `path`: its first folder under `src`, or its file name."""
    rel = os.path.relpath(path, src)
    first = rel.split(os.sep)[0]
    return first[:-3] if first.endswith(".rs") else first


def tarjan(nodes, edges):
    """Strongly connected components of a graph (iterative Tarjan), each sorted.

    `nodes` is visited in the order given and the successors of a node in sorted order, so
    the components come out in the same order as from the recursive textbook version."""
    index, low, on, stack, comps = {}, {}, set(), [], []
    counter = 0
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(sorted(edges.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on.add(root)
        while work:
            v, succ = work[-1]
            for w in succ:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(edges.get(w, ())))))
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    u = work[-1][0]
                    low[u] = min(low[u], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    comps.append(sorted(comp))
    return comps


def module_check(src, allowed):
    """Cycles between the top-level modules of `src`; True when at most `allowed` modules are caught."""
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
    nodes = sorted(set(edges) | {d for ds in edges.values() for d in ds})
    cycles = [c for c in tarjan(nodes, edges) if len(c) > 1]
    caught = sum(len(c) for c in cycles)
    for c in cycles:
        print(f"cycle among {len(c)} modules: {', '.join(c)}")
        for a in c:
            for b in sorted(edges[a]):
                if b in c:
                    print(f"  {a} -> {b}: {', '.join(sorted(why[(a, b)]))}")
    print(f"{caught} of {len(nodes)} top-level modules of {src} are caught in import cycles (allowed: {allowed})")
    return caught <= allowed


# ---------------------------------------------------------------------- file-level check

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
VIS = r"pub(?:\s*\([^)]*\))?\s+"
ATTRS = r"(?:#\[[^\]\n]*\][ \t]*)*"  # `#[cfg(unix)] use ...` on one line
USE_STMT = re.compile(rf"^([ \t]*){ATTRS}(?:{VIS})?use\s+([^;]*);", re.M)
MOD_DECL = re.compile(rf"^[ \t]*{ATTRS}(?:{VIS})?mod\s+({IDENT})\s*([;{{])", re.M)
# top-level items: at column 0, as rustfmt writes them
DEF = re.compile(
    rf"^(?:{VIS})?(?:(?:default|async|const|unsafe|extern(?:\s+\"\")?)\s+)*"
    rf"(?:fn|struct|enum|union|trait|type|const|static(?:\s+mut)?)\s+({IDENT})", re.M)
MACRO_DEF = re.compile(rf"^(#\[macro_export\]\s*)?macro_rules!\s*({IDENT})", re.M)
USE_TOKEN = re.compile(rf"::|[{{}},*]|\$?{IDENT}")
# a path in code: `a::b::c`, not the tail of a longer one, nor a field or method
INLINE_PATH = re.compile(rf"(?<![\w:.$])(\$?{IDENT}(?:[ \t]*::[ \t]*{IDENT})+)")
WORD = re.compile(rf"(?<![\w.$])(?<!::)({IDENT})")
PATH_ROOTS = ("crate", "$crate", "self", "super")


def clean_code(text):
    """`text` with comments removed and string/char literals emptied (`""`, `' '`).

    Line breaks are kept, so that column 0 still means top level."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append("\n" * text.count("\n", i, j) or " ")
            i = j
        elif c == "r" and re.match(r'r#*"', text[i:i + 260]) and not (i and re.match(r"\w", text[i - 1]) and text[i - 1] != "b"):
            hashes = re.match(r'r(#*)"', text[i:]).group(1)
            end = text.find('"' + hashes, i + 2 + len(hashes))
            j = n if end < 0 else end + 1 + len(hashes)
            out.append('""' + "\n" * text.count("\n", i, j))
            i = j
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append('""' + "\n" * text.count("\n", i, j))
            i = j + 1
        elif c == "'" and i + 1 < n and (text[i + 1] == "\\" or (i + 2 < n and text[i + 2] == "'")):
            j = i + 2 if text[i + 1] == "\\" else i + 1
            while j < n and text[j] != "'":
                j += 1
            out.append("' '")
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def parse_use_tree(body):
    """The imports of one `use` body (what stands between `use` and `;`).

    Returns (segments, bound name, is_glob) for each leaf: `a::{b::C, d as E, self, *}` gives
    (a,b,C) bound as C, (a,d) as E, (a) as a, and the glob (a). A body starting with `::`
    (another crate) gives nothing."""
    toks = USE_TOKEN.findall(body)
    out = []

    def tree(pos, prefix):
        segs = list(prefix)
        while True:
            tok = toks[pos]
            if tok == "{":
                pos += 1
                while toks[pos] != "}":
                    pos = tree(pos, segs)
                    if toks[pos] == ",":
                        pos += 1
                return pos + 1
            if tok == "*":
                out.append((tuple(segs), None, True))
                return pos + 1
            segs.append(tok)
            pos += 1
            if pos < len(toks) and toks[pos] == "::":
                pos += 1
                continue
            alias = None
            if pos + 1 < len(toks) and toks[pos] == "as":
                alias, pos = toks[pos + 1], pos + 2
            if segs[-1] == "self" and len(segs) > 1:
                segs.pop()
            out.append((tuple(segs), alias or segs[-1], False))
            return pos

    if not toks or toks[0] == "::":
        return []
    try:
        tree(0, ())
    except IndexError:  # not a use tree after all
        return []
    return out


class Module:
    """A module of the crate: its file, where its children live, what it declares."""

    def __init__(self, key, file, folder):
        self.key = key  # path from the crate root, e.g. ("policy", "guard")
        self.file = file  # path relative to src
        self.folder = folder  # folder of its `mod x;` children, relative to src
        self.children = {}  # name -> key
        self.defs = {}  # item name -> file defining it
        self.uses = []  # top-level (segments, bound, is_glob), in order
        self.inline = False  # `mod x { ... }`: its items are not read, its file is all we know


class Crate:
    """The module tree of a crate, with a resolver from paths to the files that define them."""

    def __init__(self, src):
        self.src = src
        self.mods = {}  # key -> Module
        self.files = {}  # file -> (key, code without use statements, [(segments, bound, is_glob)])
        self.macros = {}  # #[macro_export] name -> file
        self.fallbacks = set()  # (file, path) that fell back to the deepest module reached
        self.missing = []  # `mod x;` declarations without a file
        self._memo = {}
        self._load((), "lib.rs", "")

    def _load(self, key, file, folder):
        """Read `file` as module `key` and, one after the other, the modules it declares."""
        queue = [(key, file, folder)]
        while queue:
            key, file, folder = queue.pop(0)
            if file in self.files:
                continue
            raw = open(os.path.join(self.src, file), encoding="utf-8").read()
            code = clean_code(raw).split("#[cfg(test)]")[0]
            mod = self.mods[key] = Module(key, file, folder)
            uses = []
            for m in USE_STMT.finditer(code):
                for u in parse_use_tree(m.group(2)):
                    uses.append(u)
                    if not m.group(1):
                        mod.uses.append(u)
            rest = USE_STMT.sub(lambda m: "\n" * m.group(0).count("\n"), code)
            rest = re.sub(r"pub\s*\(\s*in\s[^)]*\)", "pub", rest)
            self.files[file] = (key, rest, uses)
            for name in DEF.findall(rest):
                mod.defs[name] = file
            for exported, name in MACRO_DEF.findall(rest):
                mod.defs[name] = file
                if exported:
                    self.macros[name] = file
            for m in MOD_DECL.finditer(rest):
                name, child = m.group(1), key + (m.group(1),)
                if m.group(2) == "{":  # inline module: same file, contents not looked into
                    mod.children[name] = child
                    self.mods[child] = Module(child, file, os.path.join(folder, name))
                    self.mods[child].inline = True
                    continue
                for cand in (os.path.join(folder, name + ".rs"), os.path.join(folder, name, "mod.rs")):
                    if os.path.exists(os.path.join(self.src, cand)):
                        mod.children[name] = child
                        queue.append((child, cand, os.path.join(folder, name)))
                        break
                else:
                    self.missing.append(f"mod {name} (in {file})")

    def resolve_name(self, key, name, final=True, seen=frozenset()):
        """What `name` means in module `key`: ("mod", key), ("item", file), ("ext", file of
        the `use` that brings it from another crate), or None when the module has no such name.

        `final` is False when more path segments follow, so a child module wins over a
        function of the same name."""
        memo, whole = (key, name, final), not seen
        if memo in self._memo:
            return self._memo[memo]
        if memo in seen or key not in self.mods:
            return None  # a re-export loop
        seen = seen | {memo}
        m = self.mods[key]
        res = None
        if not final and name in m.children:
            res = ("mod", m.children[name])
        elif name in m.defs:
            res = ("item", m.defs[name])
        elif name in m.children:
            res = ("mod", m.children[name])
        elif key == () and name in self.macros:
            res = ("item", self.macros[name])
        else:
            for segs, bound, glob in m.uses:
                if not glob and bound == name:
                    r = self.resolve_path(key, segs, seen=seen)
                    res = r[:2] if r else ("ext", m.file)
                    break
            else:
                for segs, _, glob in m.uses:
                    if glob:
                        base = self.resolve_path(key, segs, seen=seen)
                        if base and base[0] == "mod":
                            res = self.resolve_name(base[1], name, final, seen)
                            if res:
                                break
        if whole:  # not a lookup inside another one, which a loop guard may have cut short
            self._memo[memo] = res
        return res

    def lookup(self, key, name, uses, final, seen=frozenset()):
        """`name` as the first segment of a path in module `key`, where `uses` are the
        `use` statements of the file (also those inside functions); None if not in scope."""
        r = self.resolve_name(key, name, final, seen)
        if r:
            return r
        for segs, bound, glob in uses:
            if not glob and bound == name:
                return self.resolve_path(key, segs, seen=seen)
        return None

    def resolve_path(self, key, segs, uses=(), seen=frozenset()):
        """(kind, module key or file, name) for path `segs` used in module `key`, or None
        for a path into another crate. kind is "mod", "item", "ext" or "fallback"."""
        first, i = segs[0], 1
        if first in ("crate", "$crate"):
            cur = ("mod", ())
        elif first == "self":
            cur = ("mod", key)
        elif first == "super":
            k, i = key, 0
            while i < len(segs) and segs[i] == "super":
                k, i = k[:-1], i + 1
            cur = ("mod", k)
        else:
            cur = self.lookup(key, first, uses, len(segs) == 1, seen)
            if cur is None:
                return None
        name = segs[i - 1]
        for j in range(i, len(segs)):
            if cur[0] != "mod":
                break  # an item: the rest are its variants or associated items
            r = self.resolve_name(cur[1], segs[j], j == len(segs) - 1, seen)
            if r is None:
                if not self.mods[cur[1]].inline:
                    self.fallbacks.add((self.mods[key].file, "::".join(segs)))
                return ("fallback", self.mods[cur[1]].file, segs[j])
            cur, name = r, segs[j]
        return cur[0], cur[1], name

    def file_of(self, target):
        """The file a resolved target points to."""
        return self.mods[target[1]].file if target[0] == "mod" else target[1]

    def edges(self):
        """file -> {file: names that make the edge}, without edges from a file to itself."""
        edges = defaultdict(lambda: defaultdict(set))

        def add(a, target, name):
            b = self.file_of(target)
            if a != b:
                edges[a][b].add(name)

        for file, (key, code, uses) in sorted(self.files.items()):
            mod, globs = self.mods[key], []
            for segs, bound, glob in uses:
                r = self.resolve_path(key, segs, uses)
                if r is None:
                    continue
                if glob and r[0] == "mod":
                    globs.append(r[1])
                elif glob:
                    add(file, r, r[2] + "::*")
                else:
                    add(file, r, r[2])
            for m in INLINE_PATH.finditer(code):
                segs = tuple(re.split(r"\s*::\s*", m.group(1)))
                if segs[0] not in PATH_ROOTS:
                    first = self.lookup(key, segs[0], uses, False)
                    if not first or first[0] != "mod":
                        continue  # not a module path, or the `use` made the edge already
                r = self.resolve_path(key, segs, uses)
                if r:
                    add(file, r, r[2])
            if globs:
                bound = {b for _, b, g in uses if not g} | set(mod.defs) | set(mod.children)
                used = set()
                for m in WORD.finditer(code):
                    w, after = m.group(1), code[m.end():m.end() + 3].lstrip()
                    if w in bound or code[max(0, m.start() - 3):m.start()] == "fn ":
                        continue
                    if w[0].isupper() or after[:1] in ("(", "!") or after.startswith("::"):
                        used.add(w)
                for g in globs:
                    hits = [(w, r) for w in sorted(used) for r in [self.resolve_name(g, w)] if r]
                    for w, r in hits:
                        add(file, r, w)
                    if not hits:  # nothing of the file's own words: keep the import itself
                        add(file, ("mod", g), "*")
        return edges


def file_check(src, allowed, show_edges=False):
    """Cycles between files of different folders of `src`; True when at most `allowed` are found.

    With `show_edges`, first prints the whole file graph and the paths that fell back."""
    crate = Crate(src)
    edges = crate.edges()
    if show_edges:
        for a in sorted(edges):
            for b in sorted(edges[a]):
                print(f"edge {a} -> {b}: {', '.join(sorted(edges[a][b]))}")
        for file, path in sorted(crate.fallbacks):
            print(f"unresolved in {file}: {path} (to the deepest module reached)")
    nodes = sorted(crate.files)
    skipped = []
    for root, dirs, files in os.walk(src):
        dirs.sort()
        rel = os.path.relpath(root, src)
        for f in sorted(files):
            path = os.path.normpath(os.path.join(rel, f))
            if f.endswith(".rs") and path not in crate.files and path != "main.rs" and not path.startswith("bin" + os.sep):
                skipped.append(path)
    if skipped:
        print(f"not in the module tree of {src}/lib.rs, not checked: {', '.join(skipped)}")
    if crate.missing:
        print(f"declared without a file, not checked: {', '.join(crate.missing)}")

    def folder(f):
        return os.path.dirname(f) + "/" if os.path.dirname(f) else "./"

    comps = [c for c in tarjan(nodes, edges) if len({folder(f) for f in c}) > 1]
    for c in comps:
        folders = sorted({folder(f) for f in c})
        print(f"file cycle among {len(c)} files in {', '.join(folders)}:")
        for f in c:
            print(f"  {f}")
        for a in c:
            for b in sorted(edges[a]):
                if b in c:
                    print(f"  {a} -> {b}: {', '.join(sorted(edges[a][b]))}")
    print(f"{len(comps)} file cycles across folders in {src} (allowed: {allowed})")
    return len(comps) <= allowed


def main():
    ap = argparse.ArgumentParser(description="Import cycles in a crate: between top-level modules, and between files of different folders.")
    ap.add_argument("--src", default="bot/src")
    ap.add_argument("--check", choices=("all", "modules", "files"), default="all")
    ap.add_argument("--max-cycle-modules", type=int, default=0, help="top-level modules allowed in cycles")
    ap.add_argument("--max-file-cycles", type=int, default=0, help="cross-folder file cycles allowed")
    ap.add_argument("--edges", action="store_true", help="print the whole file graph first")
    args = ap.parse_args()
    ok = True
    if args.check in ("all", "modules"):
        ok = module_check(args.src, args.max_cycle_modules) and ok
    if args.check in ("all", "files"):
        ok = file_check(args.src, args.max_file_cycles, args.edges) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
