"""Collects criterion's median estimates (ns) from TARGET/criterion into one JSON object
keyed by "group/function/input".

usage: criterion_estimates.py TARGET_DIR OUT.json
"""

import json
import sys
from pathlib import Path

base = Path(sys.argv[1]) / "criterion"
out = {}
for est in sorted(base.glob("**/new/estimates.json")):
    key = str(est.parent.parent.relative_to(base))
    out[key] = json.loads(est.read_text())["median"]["point_estimate"]
Path(sys.argv[2]).write_text(json.dumps(out, indent=2) + "\n")
print(f"{len(out)} criterion estimates -> {sys.argv[2]}")
