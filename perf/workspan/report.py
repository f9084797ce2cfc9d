#!/usr/bin/env python3
"""The work-span analysis of spool's fork-join kernels (perf_workspan; the
method is described in perf/workspan/workspan.c): for each kernel its
parallelism, burdened parallelism, the speed-up over serial it predicts at
1 to 256 workers, and the measured speed-ups at 1 and p workers beside the
prediction for p.

    perf/run --workspan [--size small|full|large] [--workers P] [--out FILE]
"""
import argparse
import json
import os
import subprocess
import sys

KERNELS = ("fib", "nqueens", "uts", "integrate")
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
    for kernel in args.kernels.split(","):
        proc = subprocess.run([exe, "--kernel", kernel, "--size", args.size,
                               "--workers", args.workers.split(",")[-1]],
                              capture_output=True, text=True, timeout=3600)
        rec = next((json.loads(l[9:]) for l in proc.stdout.splitlines()
                    if l.startswith("WORKSPAN ")), None)
        if proc.returncode != 0 or rec is None:
            failed += 1
            print("%s: failed (exit %d) %s" % (kernel, proc.returncode, proc.stderr.strip()),
                  file=sys.stderr)
            continue
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
    if args.out:
        with open(args.out, "w") as f:
            json.dump(records, f, indent=1)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
