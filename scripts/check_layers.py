#!/usr/bin/env python3
"""Checks that no layer of the library includes a layer above it (docs/design.md's order, lowest
first). Each file under src/<layer>/ or include/hifp8/<layer>/ may include hifp8/<other>/ headers only
of its own layer or lower ones; hifp8/error.h is below everything. Exit 1 listing the violations.
  scripts/check_layers.py [REPO]"""
import os
import re
import sys

LAYERS = ["format", "kernel", "quant", "jinja", "io", "model", "calib", "eval", "pipeline", "serve", "cli"]
RANK = {name: i for i, name in enumerate(LAYERS)}
INCLUDE = re.compile(r'^\s*#\s*include\s+"(?:hifp8/)?([a-z_]+)/', re.M)

repo = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
violations, files = [], 0
for top in ("src", os.path.join("include", "hifp8")):
    base = os.path.join(repo, top)
    for directory, _, names in os.walk(base):
        layer = os.path.relpath(directory, base).split(os.sep)[0]
        if layer not in RANK:
            continue
        for name in names:
            if not name.endswith((".h", ".cpp", ".cu", ".cuh")):
                continue
            path = os.path.join(directory, name)
            files += 1
            for included in INCLUDE.findall(open(path, encoding="utf-8").read()):
                if included in RANK and RANK[included] > RANK[layer]:
                    violations.append(f"{os.path.relpath(path, repo)}: layer '{layer}' includes '{included}', a layer above it")
if files == 0:
    sys.exit(f"check_layers: no source files under {repo}")
print("\n".join(violations) if violations else f"check_layers: {files} files, no include from a lower layer to a higher one")
print("order, lowest first: " + " < ".join(LAYERS))
sys.exit(1 if violations else 0)
