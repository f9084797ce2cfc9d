#!/usr/bin/env python3
"""Per-worker time in a spool trace (SPOOL_TRACE's Chrome JSON): busy
(inside a run slice), asleep (inside a sleep slice) and searching (the
rest of the traced span: looking for work, spinning, stealing), and the
steals, suspends and resumes each worker made.

    perf/trace_summary.py TRACE.json [...]
"""
import json
import sys


def worker_times(path):
    with open(path) as f:
        doc = json.load(f)
    events = [e for e in doc["traceEvents"] if e.get("ph") != "M"]
    if not events:
        return doc, {}
    start = min(e["ts"] for e in events)
    end = max(e["ts"] for e in events)
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
                        asleep += e["ts"] - t0
                    else:
                        busy += e["ts"] - t0
            elif e["ph"] == "i" and e.get("name") in counts:
                counts[e["name"]] += 1
        total = max(end - start, 1e-9)
        workers[tid] = dict(busy=busy / total, asleep=asleep / total,
                            searching=max(0.0, 1 - (busy + asleep) / total), **counts)
    return doc, workers


def summary_text(path):
    doc, workers = worker_times(path)
    dropped = doc.get("otherData", {}).get("spool_dropped_events", 0)
    lines = ["%s%s" % (path, "  (%d events dropped)" % dropped if dropped else "")]
    for tid, w in workers.items():
        lines.append("  worker %-3d busy %5.1f%%  searching %5.1f%%  asleep %5.1f%%   "
                     "steals %d, suspends %d, resumes %d" % (
                         tid, 100 * w["busy"], 100 * w["searching"], 100 * w["asleep"],
                         w["steal"], w["suspend"], w["resume"]))
    return "\n".join(lines)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        sys.exit(1)
    for p in sys.argv[1:]:
        print(summary_text(p))
