"""Clear notebook outputs before committing, except cells tagged `nbval-check-output`.

Those cells keep their output because nbval compares it with a fresh run. Widget state
and execution counts are removed everywhere.

    python scripts/strip_outputs.py notebooks/*.ipynb
"""
import json
import sys
from pathlib import Path

KEEP_TAG = "nbval-check-output"


def strip(path: Path) -> bool:
    nb = json.loads(path.read_text(encoding="utf-8"))
    before = json.dumps(nb, sort_keys=True)
    nb.get("metadata", {}).pop("widgets", None)
    count = 0
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            cell.pop("outputs", None)
            cell.pop("execution_count", None)
            continue
        tags = cell.get("metadata", {}).get("tags", [])
        cell["execution_count"] = None
        if KEEP_TAG in tags:
            # nbval treats a cell with outputs but no execution count as "unrun": keep a number
            count += 1
            cell["execution_count"] = count
            kept = []
            for out in cell.get("outputs", []):
                if out.get("output_type") == "execute_result":
                    out["execution_count"] = count
                if out.get("output_type") == "error":
                    continue
                kept.append(out)
            cell["outputs"] = kept
        else:
            cell["outputs"] = []
        cell.get("metadata", {}).pop("execution", None)
    after = json.dumps(nb, sort_keys=True)
    if after != before:
        path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        return True
    return False


if __name__ == "__main__":
    for name in sys.argv[1:]:
        if strip(Path(name)):
            print(f"stripped {name}")
