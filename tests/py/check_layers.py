"""The layers of specnmf (docs/architecture.md), checked on the #include lines.

Each folder is a layer, lowest first:
    src  <  parallel/comm  <  io  <  parallel  <  parallel/cmd
A file's layer is its folder (sub-folders count as their own layer, as the
CMake targets' non-recursive globs do). A quoted #include is an edge from the
file's folder to the folder holding that header. The check counts the edges
folder by folder and fails on an edge that goes up (e.g. io -> parallel), on a
cycle between folders, on <mpi.h> or <hdf5.h> in src/, on <hdf5.h> outside
io/, on a header name held by two folders (the include paths are flat), and on
a source folder that is in no layer.

usage: check_layers.py ROOT           check the tree at ROOT
       check_layers.py --selftest [TMP]  build (default $SN_TMP) broken trees in TMP; each must fail
"""
import os
import re
import sys

LAYERS = ["src", "parallel/comm", "io", "parallel", "parallel/cmd"]
SOURCE_TOPS = ["src", "parallel", "io"]  # every folder with C under these is a layer
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)


def c_files(root, folder):
    d = os.path.join(root, folder)
    if not os.path.isdir(d):
        return []
    return sorted(f for f in os.listdir(d) if f.endswith((".c", ".h")) and os.path.isfile(os.path.join(d, f)))


def check(root, out=sys.stdout):
    """Return the list of problems of the tree at root (empty: layered)."""
    problems = []
    rank = {f: i for i, f in enumerate(LAYERS)}
    # every folder holding C files must be a layer
    for top in SOURCE_TOPS:
        for dirpath, _dirs, files in os.walk(os.path.join(root, top)):
            rel = os.path.relpath(dirpath, root).replace(os.sep, "/")
            if any(f.endswith((".c", ".h")) for f in files) and rel not in rank:
                problems.append(f"{rel}/: C files in a folder that is no layer (add it to LAYERS and CMakeLists.txt)")
    owner = {}
    for folder in LAYERS:
        for f in c_files(root, folder):
            if f.endswith(".h"):
                if f in owner:
                    problems.append(f"{f} is in both {owner[f]}/ and {folder}/ (include paths are flat)")
                owner[f] = folder
    edges = {}
    for folder in LAYERS:
        for f in c_files(root, folder):
            path = f"{folder}/{f}"
            with open(os.path.join(root, folder, f), encoding="utf-8", errors="replace") as fh:
                text = fh.read()
            for kind, name in INCLUDE.findall(text):
                base = os.path.basename(name)
                if kind == "<":
                    if folder == "src" and base in ("mpi.h", "hdf5.h", "fftw3-mpi.h"):
                        problems.append(f"{path}: <{name}> in src/ (the numerics have no MPI or HDF5)")
                    elif base == "hdf5.h" and folder != "io":
                        problems.append(f"{path}: <hdf5.h> outside io/")
                    continue
                to = folder if os.path.isfile(os.path.join(root, folder, name)) else owner.get(base)
                if to is None:
                    continue  # generated or third-party
                edges.setdefault((folder, to), []).append(f"{path} -> {to}/{base}")
                if rank[to] > rank[folder]:
                    problems.append(f"{path}: includes {to}/{base}, an upward edge {folder} -> {to}")
    # cycles between folders (depth-first search on the folder graph)
    graph = {f: sorted({b for (a, b) in edges if a == f and b != f}) for f in LAYERS}
    state = {}

    def visit(f, stack):
        state[f] = 1
        for g in graph[f]:
            if state.get(g) == 1:
                cyc = stack[stack.index(g):] + [g] if g in stack else [f, g]
                problems.append("include cycle: " + " -> ".join(cyc))
            elif g not in state:
                visit(g, stack + [g])
        state[f] = 2

    for f in LAYERS:
        if f not in state:
            visit(f, [f])
    print("include edges, folder -> folder (count):", file=out)
    for (a, b), lst in sorted(edges.items(), key=lambda kv: (rank[kv[0][0]], rank[kv[0][1]])):
        mark = "  UP" if rank[b] > rank[a] else ""
        print(f"  {a:14s} -> {b:14s} {len(lst):4d}{mark}", file=out)
    return problems


def selftest(tmp):
    """Broken trees that the check must refuse, and a layered one it must pass."""
    def tree(name, files):
        r = os.path.join(tmp, name)
        for p, body in files.items():
            os.makedirs(os.path.dirname(os.path.join(r, p)), exist_ok=True)
            with open(os.path.join(r, p), "w") as fh:
                fh.write(body)
        return r

    good = {"src/a.h": "", "parallel/comm/c.h": '#include "a.h"\n', "io/i.h": '#include "c.h"\n',
            "parallel/p.c": '#include "i.h"\n#include "c.h"\n', "parallel/cmd/m.c": '#include "p.h"\n',
            "parallel/p.h": ""}
    cases = {
        "good": (good, False),
        "up_io_parallel": (dict(good, **{"io/i.c": '#include "p.h"\n'}), True),
        "up_src_comm": (dict(good, **{"src/a.c": '#include "c.h"\n'}), True),
        "mpi_in_src": (dict(good, **{"src/a.c": "#include <mpi.h>\n"}), True),
        "hdf5_in_parallel": (dict(good, **{"parallel/p.c": "#include <hdf5.h>\n"}), True),
        "twice": (dict(good, **{"io/a.h": ""}), True),
        "unknown_folder": (dict(good, **{"parallel/stream/s.c": ""}), True),
    }
    bad = 0
    for name, (files, must_fail) in cases.items():
        probs = check(tree(name, files), out=open(os.devnull, "w"))
        ok = bool(probs) == must_fail
        print(f"selftest {name}: {'ok' if ok else 'WRONG'} ({len(probs)} problems)")
        bad += not ok
    # a cycle alone (no rank order) is also reported
    global LAYERS
    saved = LAYERS
    LAYERS = ["x", "y"]
    try:
        r = tree("cycle", {"x/a.h": '#include "b.h"\n', "y/b.h": '#include "a.h"\n'})
        probs = [p for p in check(r, out=open(os.devnull, "w")) if p.startswith("include cycle")]
    finally:
        LAYERS = saved
    print(f"selftest cycle: {'ok' if probs else 'WRONG'}")
    bad += not probs
    return 1 if bad else 0


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "--selftest":
        return selftest(sys.argv[2] if len(sys.argv) > 2 else os.environ["SN_TMP"])
    root = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("SN_SRC", ".")
    problems = check(root)
    for p in problems:
        print("layers: " + p)
    print("layers: " + ("FAIL" if problems else "ok") + f" ({len(problems)} problems)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
