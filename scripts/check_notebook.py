"""Exits non-zero, printing each error, when an executed notebook holds error outputs.

Usage: python scripts/check_notebook.py EXECUTED.ipynb
"""
import json
import sys

nb = json.load(open(sys.argv[1]))
errors = []
for index, cell in enumerate(nb["cells"]):
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            errors.append((index, out.get("ename", ""), out.get("evalue", ""), "\n".join(out.get("traceback", []))))
for index, ename, evalue, tb in errors:
    print(f"cell {index}: {ename}: {evalue}\n{tb}", file=sys.stderr)
if errors:
    print(f"{sys.argv[1]}: {len(errors)} cell(s) failed", file=sys.stderr)
    sys.exit(1)
print(f"{sys.argv[1]}: every cell ran without error")
