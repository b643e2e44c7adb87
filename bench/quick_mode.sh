#!/usr/bin/env bash
# bench/quick_mode.sh — how long a newcomer waits: every lab's quick run, and the level-1 tour.
#
#   bench/quick_mode.sh [OUT.json]     (default: bench/results/quick-mode-<hostname>.json)
#
# The targets (issue 12): every lab's quick run under 10 s, the level-1 tour under 90 s, on a
# 2-core machine, after the build. This is a benchmark, not a test: it measures and reports, and
# exits non-zero only if a lab failed or erred. Run it on an otherwise idle machine.
# Needs the Release build (./run builds it). Each lab runs once, in a scratch results folder, so
# nothing in results/ or the history is touched.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=build/release/dontpanic
[ -x "$bin" ] || { echo "bench/quick_mode.sh: $bin is missing; run ./run (or cmake --build --preset release) first" >&2; exit 2; }
out=${1:-bench/results/quick-mode-$(hostname).json}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export XDG_DATA_HOME="$scratch/data"   # a history of its own
export GLIBC_TUNABLES="${GLIBC_TUNABLES:+$GLIBC_TUNABLES:}glibc.rtld.optional_static_tls=16384"  # as ./run

labs=$("$bin" list --json | python3 -c 'import json,sys; print(" ".join(l["id"] for l in json.load(sys.stdin)))')
status=0
for lab in $labs; do
  start=$(date +%s.%N)
  if "$bin" run "$lab" --quick --out "$scratch/labs" --plot svg >"$scratch/$lab.log" 2>&1; then rc=0; else rc=$?; fi
  end=$(date +%s.%N)
  echo "$lab $rc $start $end" >>"$scratch/times"
  printf '  %-24s %6.1f s  exit %d\n' "$lab" "$(awk "BEGIN{print $end - $start}")" "$rc"
  # 3 = this machine cannot run it (no Vulkan device): not a failure of the lab
  [ "$rc" -eq 0 ] || [ "$rc" -eq 3 ] || status=1
done

tour_start=$(date +%s.%N)
"$bin" tour --out "$scratch/tour" >"$scratch/tour.log" 2>&1 || status=1
tour_end=$(date +%s.%N)
"$bin" doctor --json >"$scratch/doctor.json" || true  # exit 3 only says something is missing

python3 - "$scratch" "$tour_start" "$tour_end" "$out" <<'EOF'
import json, os, re, subprocess, sys
scratch, tour_start, tour_end, out = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
labs = []
for line in open(os.path.join(scratch, "times")):
    lab, rc, start, end = line.split()
    entry = {"lab": lab, "exit": int(rc), "process_seconds": round(float(end) - float(start), 2)}
    result = os.path.join(scratch, "labs", lab + ".json")
    if os.path.exists(result):
        r = json.load(open(result))
        entry["lab_seconds"] = round(r.get("wall_seconds", 0), 2)
        entry["stopped_early"] = any("quick mode stopped" in n for n in r.get("notes", []))
        entry["capped"] = any("quick mode caps" in n for n in r.get("notes", []))
    labs.append(entry)
tour = []
for line in open(os.path.join(scratch, "tour.log")):
    m = re.match(r"\s+(\S+)\s+([\d.]+) s\s+(.*)", line)
    if m and m.group(1) != "total":
        tour.append({"lab": m.group(1), "seconds": float(m.group(2)), "status": m.group(3)})
doctor = json.load(open(os.path.join(scratch, "doctor.json")))
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
report = {
    "what": "every lab's quick run (dontpanic run <lab> --quick, one process each) and the level-1 tour",
    "targets": {"lab_quick_seconds": 10, "tour_seconds": 90},
    "code_version": commit,
    "machine": doctor.get("machine"),
    "labs": labs,
    "slowest_lab": max(labs, key=lambda l: l["process_seconds"]) if labs else None,
    "tour": {"seconds": round(tour_end - tour_start, 2), "labs": tour},
}
os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
with open(out, "w") as f:
    json.dump(report, f, indent=2)
    f.write("\n")
print(f"slowest lab: {report['slowest_lab']['lab']} {report['slowest_lab']['process_seconds']} s; "
      f"level-1 tour: {report['tour']['seconds']} s; written to {out}")
EOF
exit $status
