#!/usr/bin/env python3
"""The work-span analysis of spool's fork-join kernels (perf_workspan; the
method is described in perf/workspan/workspan.c): for each kernel its
parallelism, burdened parallelism, the speed-up over serial it predicts at
1 to 256 workers, and the measured speed-ups at 1 and p workers beside the
prediction for p. A second table: the same model with the per-steal cost
measured from a trace of p-worker runs (the thief's median search before a
steal) and the least of the samples; then each worker's time busy,
searching and asleep in that trace.

    perf/run --workspan [--size small|full|large] [--workers P] [--out FILE]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import trace_summary  # noqa: E402  (perf/trace_summary.py)

KERNELS = ("fib", "nqueens", "queens", "uts", "integrate")
QS = ("1", "2", "4", "16", "64", "256")


def main(argv):
    p = argparse.ArgumentParser(prog="perf/run --workspan", description=__doc__.split("\n")[0])
    p.add_argument("--build-dir", required=True)
    p.add_argument("--size", default="small", choices=("tiny", "small", "full", "large"))
    p.add_argument("--workers", default="2", help="p, the measured worker count (default 2)")
    p.add_argument("--kernels", default=",".join(KERNELS))
    p.add_argument("--out", default=None, help="also write the records as JSON here")
    args = p.parse_args(argv)
    exe = os.path.join(args.build_dir, "perf", "workspan", "perf_workspan")
    records, failed = [], 0
    traces = tempfile.TemporaryDirectory(prefix="spool-workspan-")
    for kernel in args.kernels.split(","):
        trace = os.path.join(traces.name, kernel + ".json")
        proc = subprocess.run([exe, "--kernel", kernel, "--size", args.size,
                               "--workers", args.workers.split(",")[-1]],
                              capture_output=True, text=True, timeout=3600,
                              env=dict(os.environ, WORKSPAN_TRACE=trace))
        rec = next((json.loads(l[9:]) for l in proc.stdout.splitlines()
                    if l.startswith("WORKSPAN ")), None)
        if proc.returncode != 0 or rec is None:
            failed += 1
            print("%s: failed (exit %d) %s" % (kernel, proc.returncode, proc.stderr.strip()),
                  file=sys.stderr)
            continue
        add_trace_model(rec, trace)
        records.append(rec)
    if records:
        pw = records[0]["workers"]
        print("Work-span analysis (%s size; times are medians of %s alternated samples)"
              % (args.size, "/".join(str(r["samples"]) for r in records)))
        print("%-10s %10s %10s %9s %10s %8s | %s | %8s %8s %8s %6s" % (
            "kernel", "serial", "spool 1w", "parallel", "burdened", "steal",
            " ".join("%6s" % ("S(%s)" % q) for q in QS), "meas 1w", "meas %dw" % pw,
            "pred %dw" % pw, "error"))
        for r in records:
            pred = r["predicted_speedup_p"]
            meas = r["measured_speedup_p"]
            err = (pred - meas) / meas if meas else float("nan")
            print("%-10s %9.2fms %9.2fms %9.0f %10.1f %6.1fus | %s | %8.2f %8.2f %8.2f %+5.0f%%" % (
                r["kernel"], 1e3 * r["serial_s"], 1e3 * r["spool_1_s"], r["parallelism"],
                r["burdened_parallelism"], 1e6 * r["steal_cost_s"],
                " ".join("%6.2f" % r["predicted_speedup"][q] for q in QS),
                r["measured_speedup_1"], meas, pred, 100 * err))
        print("S(q): predicted speed-up over serial at q workers; steal: the measured extra "
              "worker time per steal at %d workers" % pw)
        print()
        print("The same model with the steal cost measured directly: the thief's search "
              "before a steal (median), from a trace of %d-worker runs" % pw)
        print("%-10s %7s %9s %9s %9s | %s | %8s %8s %8s %6s | %8s" % (
            "kernel", "steals", "search", "(mean)", "burdened",
            " ".join("%6s" % ("S(%s)" % q) for q in QS), "meas 1w", "meas %dw" % pw,
            "pred %dw" % pw, "error", "T1/T(16)"))
        for r in records:
            t = r.get("trace_model")
            if not t:
                print("%-10s (no steal in the trace)" % r["kernel"])
                continue
            meas = t["measured_speedup_p"]
            err = (t["predicted_speedup_p"] - meas) / meas if meas else float("nan")
            print("%-10s %7d %7.2fus %7.2fus %9.1f | %s | %8.2f %8.2f %8.2f %+5.0f%% | %8.2f" % (
                r["kernel"], t["searches"], 1e6 * t["steal_cost_s"],
                1e6 * t["search_mean_s"], t["burdened_parallelism"],
                " ".join("%6.2f" % t["predicted_speedup"][q] for q in QS),
                t["measured_speedup_1"], meas, t["predicted_speedup_p"], 100 * err,
                t["predicted_speedup"]["16"] / t["measured_speedup_1"]))
        print("search: the median time from a thief's previous slice to the run of what it "
              "stole (the thief's side of a steal only; the victim's publication and its "
              "sync of the stolen frame are not in it). Times here: the least of the "
              "samples, not the medians. T1/T(16): the predicted speed-up at 16 workers "
              "over spool's own 1-worker time (self-relative, as speed-ups are often "
              "published), where S(16) is over the serial program")
        for r in records:
            if r.get("trace_text"):
                print(r["trace_text"])
    if args.out:
        with open(args.out, "w") as f:
            json.dump(records, f, indent=1)
    return 1 if failed else 0


def add_trace_model(rec, trace):
    """The model of perf/workspan/workspan.c again, with the per-steal cost
    c taken from the trace (the median search that ended in a steal) instead
    of (p T_p - T_1) / steals, which charges every slowdown of the p-worker
    runs to the steals."""
    if not os.path.exists(trace):
        return
    windows = run_windows(rec, trace)
    # The searches that ended inside the timed traced runs (not in their
    # warm-up runs, which T_p leaves out too).
    searches = trace_summary.steal_searches(trace, windows)
    rec["trace_text"] = runs_text(rec, trace, windows)
    if not searches:
        return
    # The median: a search that also waited for work to exist (the other
    # worker in a serial stretch) is the span's doing, already in the model;
    # the mean is printed beside it.
    c = 1e-6 * statistics.median(searches)
    # The least of the samples: this VM's speed varies from moment to moment
    # (a serial loop's mean runs 10-70 % above its best), and the least is
    # the time of the machine undisturbed, for T_s, T_1 and T_p alike.
    ts, t1, tp = rec["serial_least_s"], rec["spool_1_least_s"], rec["spool_p_least_s"]
    p = rec["workers"]
    span = t1 / rec["parallelism"] if rec["parallelism"] > 0 else t1
    burdened = span + c * rec["span_forks"]

    def speedup(q):  # T_s / T(q), T(q) = T_1/q + S_b (1 - 1/q)
        return ts / (t1 / q + burdened * (1 - 1 / q))

    rec["trace_model"] = dict(
        searches=len(searches), steal_cost_s=c, search_mean_s=1e-6 * statistics.mean(searches),
        burdened_span_s=burdened, burdened_parallelism=t1 / burdened if burdened > 0 else 0,
        predicted_speedup={q: speedup(int(q)) for q in QS}, predicted_speedup_p=speedup(p),
        measured_speedup_1=ts / t1, measured_speedup_p=ts / tp)


def run_windows(rec, trace):
    """The timed traced runs as (start, end) in the trace's microseconds,
    placed by the trace's epoch; None (the whole trace) without one."""
    with open(trace) as f:
        epoch_ns = json.load(f).get("otherData", {}).get("spool_epoch_monotonic_ns")
    runs = rec.get("traced_windows_s") or []
    if epoch_ns is None or not runs:
        return None
    return [((start * 1e9 - epoch_ns) / 1e3, (start * 1e9 - epoch_ns) / 1e3 + length * 1e6)
            for start, length in runs]


def runs_text(rec, trace, windows):
    """Each worker's time busy, searching and asleep inside the traced runs
    only (the trace also covers the executor's idle time between them, and
    the untimed warm-up runs)."""
    if windows is None:
        return trace_summary.summary_text(trace, title="trace of %s (whole trace)" % rec["kernel"])
    runs = rec["traced_windows_s"]
    length = sum(l for _, l in runs)
    title = "trace of %s, inside its %d traced runs (mean %.2f ms)" % (
        rec["kernel"], len(runs), 1e3 * length / len(runs))
    return trace_summary.summary_text(trace, windows, title)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
