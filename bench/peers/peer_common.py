"""peer_common.py - what the scipy peers of the labs share.

A lab runs its peer as `python3 bench/peers/<script>.py --dir <folder> ...`, reads the files the
script writes into the folder, and parses the one JSON object it prints last (labs/peer_output.hpp).
    import_or_skip(*names)   the modules, imported; where one cannot be, the script prints
                             {"skipped": why} and exits 0, so the lab says why in a note
    median_seconds(work, r)  the median of r timed calls of work(), and the last result
    seconds_per_call(...)    the same for calls too short to time one by one: each repetition
                             calls work() enough times to last min_seconds
"""
import importlib
import json
import statistics
import sys
import time

INSTALL_HINT = "Debian: apt install python3-numpy python3-scipy"


def import_or_skip(*names):
    modules = []
    for name in names:
        try:
            modules.append(importlib.import_module(name))
        except ImportError as e:
            print(json.dumps({"skipped": f"{name} cannot be imported ({e}); {INSTALL_HINT}"}))
            sys.exit(0)
    return modules


def median_seconds(work, repeats):
    times = []
    result = None
    for _ in range(repeats):
        start = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def seconds_per_call(work, repeats, min_seconds):
    calls = 1
    while True:  # calibrate: enough calls per repetition to last min_seconds
        start = time.perf_counter()
        for _ in range(calls):
            result = work()
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds or calls >= 1 << 20:
            break
        calls *= 2 if elapsed <= 0 else max(2, min(16, int(min_seconds / elapsed) + 1))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            result = work()
        times.append((time.perf_counter() - start) / calls)
    return statistics.median(times), result
