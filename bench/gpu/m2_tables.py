#!/usr/bin/env python3
"""m2_tables.py — the 16-core tables of the M2 pages, from the results of a device run.

Reads <results>/<lab>.json (schema 1, written by bench/gpu/full_runs.sh on the GPU machine's 16
CPU cores) and prints, for each lab, a Markdown block: the machine, how the run was made (full or
quick, repetitions, the lab's code version) and the lab's key figures. The pages include these
blocks by hand, so the text around them can say what the figures mean.

  python3 bench/gpu/m2_tables.py bench/results/h200-cpu parallel-for false-sharing ...
"""
import json
import pathlib
import sys


def block(result):
    m = result["machine"]
    mode = "quick run" if result.get("quick") else "full run"
    reps = result.get("params", {}).get("repetitions", "?")
    lines = [
        f"Measured on {m['cpu']} ({m['cores']} cores, {m['threads']} threads), {m['os']}, "
        f"{m['compiler']}; a {mode}, {reps} repetitions, lab code {result.get('code_version', '?')} "
        f"(`bench/results/h200-cpu/{result['lab']}.json`).",
        "",
        "| key figure | value |",
        "|---|---|",
    ]
    for h in result.get("headlines", []):
        lines.append(f"| {h['name']} | {h['value']} |")
    failed = [c["name"] for c in result.get("checks", []) if not c.get("passed")]
    if failed:
        lines.append("")
        lines.append("Checks that failed there: " + ", ".join(failed))
    return "\n".join(lines)


def main():
    folder = pathlib.Path(sys.argv[1])
    for lab in sys.argv[2:]:
        path = folder / f"{lab}.json"
        print(f"<!-- {lab} -->")
        print(block(json.loads(path.read_text())) if path.exists() else f"(no result for {lab})")
        print()


if __name__ == "__main__":
    main()
