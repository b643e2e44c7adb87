#!/usr/bin/env python3
"""bench/exercises/measure.py — the exercise system's targets, measured on this machine.

For every registered exercise (or those named), in a scratch workspace, history and build cache:
  - `exercise check` of the unchanged baseline, build included (the target: < 15 s on 2 cores);
  - a re-check with no change, which reuses the build (target: < 3 s);
  - our solution's check, `--repetitions`-times: its speedup over the baseline (target: at least
    the exercise's own target on this machine), and the baseline's median time per timed size;
    for exercises graded on accuracy, its error (target: at most the exercise's target error).
Writes one JSON (default bench/results/exercises-<host>.json) and prints a table.

  bench/exercises/measure.py [--dontpanic build/release/dontpanic] [--repetitions 3] [--out FILE] [id ...]
"""
import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def cpu_name():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("ids", nargs="*")
    ap.add_argument("--dontpanic", default=str(ROOT / "build/release/dontpanic"))
    ap.add_argument("--repetitions", type=int, default=3)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    dp = args.dontpanic
    if not os.access(dp, os.X_OK):
        sys.exit(f"measure.py: {dp} is not built; run ./run or cmake --build --preset release first")

    scratch = Path(tempfile.mkdtemp(prefix="dp-exercise-bench-"))
    env = dict(os.environ, DONTPANIC_WORKSPACE=str(scratch / "work"), DONTPANIC_HISTORY=str(scratch / "h.sqlite"),
               DONTPANIC_EXERCISE_CACHE=str(scratch / "cache"))

    def run(*argv):
        started = time.monotonic()
        p = subprocess.run([dp, *argv], env=env, capture_output=True, text=True)
        return p, time.monotonic() - started

    listing = json.loads(run("exercise", "list", "--json")[0].stdout)
    chosen = [e for e in listing if not args.ids or e["id"] in args.ids]
    rows = []
    try:
        for e in chosen:
            ex_id = e["id"]
            run("exercise", "start", ex_id)
            report = scratch / f"{ex_id}.json"
            first, first_s = run("exercise", "check", ex_id, "--json", str(report))
            if first.returncode != 0:
                sys.exit(f"measure.py: the baseline of {ex_id} did not pass its own check:\n{first.stdout}{first.stderr}")
            baseline = json.loads(report.read_text())
            again, again_s = run("exercise", "check", ex_id, "--json", str(report))
            reused = json.loads(report.read_text())["build_reused"]
            # Our solution, in the reader's file.
            reader_file = next((scratch / "work" / ex_id).glob("*.c*"))
            solution = next((ROOT / "exercises" / f"m{e['module']}" / ex_id).glob("solution.*"))
            shutil.copyfile(solution, reader_file)
            speedups, errors, timed, goal, target_error = [], [], [], "speed", None
            for _ in range(args.repetitions):
                p, _ = run("exercise", "check", ex_id, "--json", str(report))
                j = json.loads(report.read_text())
                if j["outcome"] != "correct":
                    sys.exit(f"measure.py: our solution of {ex_id} failed:\n{p.stdout}{p.stderr}")
                speedups.append(j["speedup"])
                errors.append(j.get("error", -1))
                goal, target_error = j.get("goal", "speed"), j.get("target_error")
                timed = j["timed"]
            row = {
                "id": ex_id, "module": e["module"], "level": e["level"], "goal": goal,
                "baseline_check_s_with_build": round(first_s, 2),
                "recheck_s": round(again_s, 2), "recheck_reused_build": reused,
                "baseline_median_ms": {str(t["n"]): round(t["baseline_median_ns"] / 1e6, 3) for t in timed},
                "solution_speedups": [round(s, 2) for s in speedups],
                "solution_speedup_median": round(statistics.median(speedups), 2),
                "baseline_vs_itself": round(baseline["speedup"], 2),
            }
            if goal == "accuracy":
                row.update({"solution_errors": errors, "target_error": target_error,
                            "baseline_error": baseline.get("baseline_error"),
                            "solution_reaches_target": max(errors) <= target_error})
                verdict = f"error {max(errors):.3g} (baseline {baseline.get('baseline_error'):.3g}), target {target_error:g}"
            else:
                row.update({"target_speedup": e["target_speedup"],
                            "solution_reaches_target": statistics.median(speedups) >= e["target_speedup"]})
                verdict = f"solution {row['solution_speedup_median']}x (runs {row['solution_speedups']}), target {e['target_speedup']}x"
            rows.append(row)
            print(f"{ex_id:20s} check {first_s:5.1f} s, re-check {again_s:4.1f} s; baseline "
                  f"{row['baseline_median_ms']} ms; {verdict}", flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    out = Path(args.out) if args.out else ROOT / "bench/results" / f"exercises-{socket.gethostname()}.json"
    doc = {"what": "bench/exercises/measure.py", "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "machine": {"cpu": cpu_name(), "cores": os.cpu_count(), "os": platform.platform(),
                       "load_average_at_end": os.getloadavg()},
           "repetitions": args.repetitions, "exercises": rows}
    out.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
