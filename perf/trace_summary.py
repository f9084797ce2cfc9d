#!/usr/bin/env python3
"""Per-worker time in a spool trace (SPOOL_TRACE's Chrome JSON): busy
(inside a run slice), asleep (inside a sleep slice) and searching (the
rest of the traced span: looking for work, spinning, stealing), and the
steals, suspends and resumes each worker made.

    perf/trace_summary.py TRACE.json [...]
    perf/trace_summary.py --self-test

steal_searches() gives the thief's side of each steal, for the work-span
analysis (perf/workspan/report.py).
"""
import json
import sys


def worker_times(path, windows=None):
    """Each worker's share of time busy, asleep and searching, and its
    steals, suspends and resumes. With `windows`, a list of (start, end) in
    the trace's microseconds, only the time and events inside them count
    (the work-span analysis passes its traced runs); without, the trace's
    whole span."""
    with open(path) as f:
        doc = json.load(f)
    events = [e for e in doc["traceEvents"] if e.get("ph") != "M"]
    if not events:
        return doc, {}
    if windows is None:
        windows = [(min(e["ts"] for e in events), max(e["ts"] for e in events))]
    total = max(sum(end - start for start, end in windows), 1e-9)

    def inside(t0, t1):  # how much of [t0, t1] lies inside the windows
        return sum(max(0.0, min(t1, end) - max(t0, start)) for start, end in windows)

    def at_inside(t):  # whether the instant t lies inside a window (ends included)
        return any(start <= t <= end for start, end in windows)

    workers = {}
    for tid in sorted({e["tid"] for e in events}):
        stack, busy, asleep = [], 0.0, 0.0
        counts = {"steal": 0, "suspend": 0, "resume": 0}
        for e in (e for e in events if e["tid"] == tid):
            if e["ph"] == "B":
                stack.append((e.get("cat"), e["ts"]))
            elif e["ph"] == "E" and stack:
                cat, t0 = stack.pop()
                if not stack:  # only the outermost slice counts: nested runs are inside it
                    if cat == "idle":
                        asleep += inside(t0, e["ts"])
                    else:
                        busy += inside(t0, e["ts"])
            elif e["ph"] == "i" and e.get("name") in counts and at_inside(e["ts"]):
                counts[e["name"]] += 1
        workers[tid] = dict(busy=busy / total, asleep=asleep / total,
                            searching=max(0.0, 1 - (busy + asleep) / total), **counts)
    return doc, workers


def steal_searches(path, windows=None):
    """The thief's side of each steal: for every search that ended in a
    steal, the time (us) from the end of the worker's previous slice (a run
    or a sleep) to the start of the run that follows the steal. Searches
    that end in a sleep, a resume or injected work are not counted. With
    `windows` ((start, end) in the trace's microseconds), only the searches
    that end inside one."""
    with open(path) as f:
        doc = json.load(f)
    searches = []
    per_worker = {}
    for e in doc["traceEvents"]:
        if e.get("ph") != "M":
            per_worker.setdefault(e["tid"], []).append(e)
    for events in per_worker.values():
        depth, since, stolen = 0, None, False
        for e in events:
            if e["ph"] == "B":
                if depth == 0 and since is not None and stolen and (  # the stolen item's run
                        windows is None or any(a <= e["ts"] <= b for a, b in windows)):
                    searches.append(e["ts"] - since)
                depth += 1
            elif e["ph"] == "E" and depth > 0:
                depth -= 1
                if depth == 0:
                    since, stolen = e["ts"], False
            elif e["ph"] == "i" and e.get("name") == "steal":
                stolen = True  # inside a run (a sync that helps): reset at its end
    return searches


def summary_text(path, windows=None, title=None):
    doc, workers = worker_times(path, windows)
    dropped = doc.get("otherData", {}).get("spool_dropped_events", 0)
    lines = ["%s%s" % (title or path, "  (%d events dropped)" % dropped if dropped else "")]
    for tid, w in workers.items():
        lines.append("  worker %-3d busy %5.1f%%  searching %5.1f%%  asleep %5.1f%%   "
                     "steals %d, suspends %d, resumes %d" % (
                         tid, 100 * w["busy"], 100 * w["searching"], 100 * w["asleep"],
                         w["steal"], w["suspend"], w["resume"]))
    return "\n".join(lines)


def self_test():
    """steal_searches on a hand-written trace; exit status 1 on a wrong
    answer."""
    import os
    import tempfile

    def ev(ph, ts, tid, **kw):
        return dict(ph=ph, ts=ts, tid=tid, pid=1, **kw)
    events = [
        # worker 0: runs, searches 2 us and steals, runs; then searches and
        # sleeps (no steal: not counted); wakes, steals after 3 us, runs;
        # then resumes a task without a steal (not counted).
        ev("B", 0.0, 0, cat="run", name="task"), ev("E", 10.0, 0),
        ev("i", 11.5, 0, name="steal", s="t"),
        ev("B", 12.0, 0, cat="run", name="stolen fork frame"), ev("E", 20.0, 0),
        ev("B", 25.0, 0, cat="idle", name="sleep"), ev("E", 40.0, 0),
        ev("i", 42.0, 0, name="steal", s="t"),
        ev("B", 43.0, 0, cat="run", name="stolen fork frame"), ev("E", 50.0, 0),
        ev("B", 55.0, 0, cat="run", name="resume"), ev("E", 56.0, 0),
        # worker 1: a steal inside a run (a sync that helps) is not a search;
        # a search that ends in a resume without a steal is not counted.
        ev("B", 0.0, 1, cat="run", name="task"), ev("E", 1.0, 1),
        ev("B", 2.0, 1, cat="run", name="task"),
        ev("i", 5.0, 1, name="steal", s="t"),
        ev("B", 5.5, 1, cat="run", name="stolen fork frame"), ev("E", 8.0, 1),
        ev("E", 9.0, 1),
        ev("B", 30.0, 1, cat="run", name="resume"), ev("E", 31.0, 1),
    ]
    fd, path = tempfile.mkstemp(suffix=".json")
    with os.fdopen(fd, "w") as f:
        json.dump({"traceEvents": events}, f)
    try:
        got = steal_searches(path)
        # Inside the windows [0, 15] and [30, 51] only (36 us): worker 0
        # is busy 10 + 3 + 7 us, asleep 10 (the end of its sleep), and
        # steals twice; worker 1 is busy 1 + 7 + 1 us with one steal.
        _, inside = worker_times(path, [(0.0, 15.0), (30.0, 51.0)])
        windowed = steal_searches(path, [(30.0, 51.0)])
        # The same trace 2e7 us later (a trace longer than 2^24 us): an
        # instant's time plus a tiny length is the same double there.
        with open(path, "w") as f:
            json.dump({"traceEvents": [dict(e, ts=e["ts"] + 2e7) for e in events]}, f)
        _, late = worker_times(path)
    finally:
        os.unlink(path)
    want = [2.0, 3.0]
    ok = sorted(got) == want
    print("trace_summary self-test: searches %s, want %s: %s" % (got, want, "ok" if ok else "WRONG"))
    w0, w1 = inside[0], inside[1]
    got_w = (36 * w0["busy"], 36 * w0["asleep"], w0["steal"], 36 * w1["busy"], w1["steal"])
    want_w = (20.0, 10.0, 2, 9.0, 1)
    ok_windows = all(abs(g - w) < 1e-9 for g, w in zip(got_w, want_w))
    print("trace_summary self-test: inside windows (busy, asleep, steals of worker 0; busy, "
          "steals of worker 1) %s, want %s: %s" % (
              tuple(round(g, 6) for g in got_w), want_w, "ok" if ok_windows else "WRONG"))
    ok_windowed = windowed == [3.0]
    print("trace_summary self-test: searches ending in [30, 51] %s, want [3.0]: %s" % (
        windowed, "ok" if ok_windowed else "WRONG"))
    got_late = (late[0]["steal"], late[1]["steal"])
    ok_late = got_late == (2, 1)
    print("trace_summary self-test: steals of a trace 2e7 us late %s, want (2, 1): %s" % (
        got_late, "ok" if ok_late else "WRONG"))
    return 0 if ok and ok_windows and ok_windowed and ok_late else 1


if __name__ == "__main__":
    if sys.argv[1:] == ["--self-test"]:
        sys.exit(self_test())
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        sys.exit(1)
    for p in sys.argv[1:]:
        print(summary_text(p))
