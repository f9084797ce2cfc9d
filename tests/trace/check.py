#!/usr/bin/env python3
"""Checks the trace that SPOOL_TRACE writes (runtime/trace.c).

Runs the workload program with SPOOL_TRACE pointing into a fresh directory,
loads the file with Python's json, and checks its shape (traceEvents; ph,
ts, pid, tid on every event), that every worker has a track, that slices
nest per track and time never goes back on a track, and that the steal,
suspend and resume events of each worker match spool_stats_read. Then runs
the workload twice in one process: the second executor writes path.2.
Prints "N passed, M failed"."""
import json
import os
import subprocess
import sys
import tempfile

passed = failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("check failed:", what, file=sys.stderr)
    return cond


def run(exe, path, *args):
    env = dict(os.environ, SPOOL_TRACE=path)
    out = subprocess.run([exe, *args], env=env, capture_output=True, text=True, timeout=600)
    check(out.returncode == 0, f"workload exit {out.returncode}: {out.stderr.strip()}")
    return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]


def check_trace(path, stats):
    check(os.path.exists(path), f"{path} written")
    if not os.path.exists(path):
        return
    with open(path) as f:
        doc = json.load(f)
    events = doc.get("traceEvents")
    check(isinstance(events, list) and events, "traceEvents is a non-empty list")
    check(isinstance(doc.get("otherData", {}).get("spool_dropped_events"), int),
          "otherData.spool_dropped_events")
    check(doc["otherData"]["spool_dropped_events"] == 0, "no events dropped on a small workload")
    epoch = doc["otherData"].get("spool_epoch_monotonic_ns")
    before, after = stats["created_ns"]  # the workload's CLOCK_MONOTONIC around the create
    check(isinstance(epoch, int) and before <= epoch <= after,
          f"otherData.spool_epoch_monotonic_ns {epoch} within spool_executor_create "
          f"[{before}, {after}]")
    n = stats["workers"]
    pid = os.getpid()
    tracks = {}
    bad = [e for e in events if not all(k in e for k in ("ph", "pid", "tid"))
           or (e["ph"] != "M" and "ts" not in e)]
    check(not bad, f"every event has ph, ts, pid, tid ({len(bad)} do not)")
    for e in events:
        tracks.setdefault(e["tid"], []).append(e)
    names = {e["tid"] for e in events if e["ph"] == "M" and e["name"] == "thread_name"}
    check(names == set(range(n)), f"a named track per worker: {sorted(names)}")
    check(len({e["pid"] for e in events}) == 1, "one pid")
    for tid in range(n):
        evs = [e for e in tracks.get(tid, []) if e["ph"] != "M"]
        depth, last, ok_nest, ok_time = 0, -1.0, True, True
        count = {"steal": 0, "suspend": 0, "resume": 0}
        for e in evs:
            if e["ts"] < last:
                ok_time = False
            last = e["ts"]
            if e["ph"] == "B":
                depth += 1
            elif e["ph"] == "E":
                depth -= 1
                ok_nest &= depth >= 0
            elif e["ph"] == "i" and e["name"] in count:
                count[e["name"]] += 1
        check(ok_nest and depth == 0, f"worker {tid}: slices nest and close (depth {depth})")
        check(ok_time, f"worker {tid}: time never goes back")
        want = stats["per_worker"][tid]
        for name, stat in (("steal", "steals_won"), ("suspend", "suspends"),
                           ("resume", "resumes")):
            check(count[name] == want[stat],
                  f"worker {tid}: {count[name]} {name} events, stats say {want[stat]}")
        check(any(e["ph"] == "B" and e.get("cat") == "run" for e in evs),
              f"worker {tid}: ran something")
    total = {k: sum(w[k] for w in stats["per_worker"]) for k in ("steals_won", "suspends")}
    check(total["steals_won"] > 0, "the workload made steals")
    check(total["suspends"] > 0, "the workload made suspends")


def main():
    exe = sys.argv[1]
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "trace.json")
        stats = run(exe, path)
        if check(len(stats) == 1, "one stats line"):
            check_trace(path, stats[0])
        path2 = os.path.join(d, "again.json")
        stats = run(exe, path2, "twice")
        if check(len(stats) == 2, "two stats lines"):
            check_trace(path2, stats[0])
            check_trace(path2 + ".2", stats[1])
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())
