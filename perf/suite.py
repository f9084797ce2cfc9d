#!/usr/bin/env python3
"""Runs spool's benchmark suite and reports it (perf/run calls this).

Each measurement is one process of a perf_<impl> binary (see
perf/common/bench.h) that prints a BENCH line. Implementations are
alternated: within each repetition, every kernel runs each implementation in
turn, in an order rotated from one repetition to the next, so a slow drift of
the machine spreads over all of them. Every answer is checked by the binary,
and answers are compared across implementations here; a wrong answer, a
crash or a hang fails the run (exit status 1) after the table and the JSON
file are written.
"""

import argparse
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time

SIZES = ("tiny", "small", "full", "large")
PEERS = ("tbb", "gomp", "iomp")
# The loop kernels also run OpenMP's dynamic schedule (the plain gomp and
# iomp rows of a loop kernel are its static schedule): the same binaries,
# asked for the kernel "<name>_dynamic".
DYNAMIC = ("gomp_dynamic", "iomp_dynamic")
SPOOLS = ("spool", "spool-fn")  # typed fork-join; the same kernels with spool_fn
IMPLS = ("serial", "serial_plain") + SPOOLS + ("spool_trace",) + PEERS + DYNAMIC
# Measured only when asked for (--trace, or --impls naming it).
OPTIONAL_IMPLS = ("spool_trace",)
IMPL_TITLES = {
    "serial": "serial (noinline)",
    "serial_plain": "serial (plain -O2)",
    "spool": "spool",
    "spool_trace": "spool, tracing on",
    "spool-fn": "spool (spool_fn)",
    "tbb": "oneTBB task_group",
    "gomp": "OpenMP libgomp",
    "iomp": "OpenMP libomp",
    "gomp_dynamic": "OpenMP gomp dynamic",
    "iomp_dynamic": "OpenMP iomp dynamic",
}


def impl_title(impl, kernel=None):
    """The implementation's name in a table row: oneTBB runs the loop
    kernels with parallel_for, every other kernel with task_group."""
    if impl == "tbb" and kernel in LOOPS:
        return "oneTBB parallel_for"
    return IMPL_TITLES[impl]


BINARIES = {
    "serial": "perf_serial",
    "serial_plain": "perf_serial",
    "spool": "perf_spool",
    "spool_trace": "perf_spool",
    "spool-fn": "perf_spool_fn",
    "tbb": "perf_tbb",
    "gomp": "perf_gomp",
    "iomp": "perf_iomp",
    "gomp_dynamic": "perf_gomp",
    "iomp_dynamic": "perf_iomp",
}

# The kernels whose time is compared against the serial version at each
# worker count.
LOOPS = ("stream", "stencil", "mandel")
SCALING = ("fib", "nqueens", "queens", "uts", "sort", "matmul", "integrate") + LOOPS


class Micro:
    """A micro-benchmark: fixed worker count, one headline metric."""

    def __init__(self, name, impls, metric, unit, what, workers=None):
        self.name, self.impls, self.metric = name, impls, metric
        self.unit, self.what, self.workers = unit, what, workers


MICROS = (
    Micro("spawn", ("spool", "spool-fn", "tbb", "gomp", "iomp"), "ns_per_spawn", "ns",
          "per fork+sync: (fib 1 worker - serial) / forks", workers=1),
    Micro("submit_rt", ("spool", "tbb"), "ns_per_roundtrip", "ns",
          "per submit + result round trip from outside"),
    Micro("tree", ("spool", "tbb"), "ns_per_task", "ns",
          "per task: fire-and-forget tree, one join"),
    Micro("yield_rt", ("spool",), "ns_per_yield", "ns",
          "per yield (suspend + resume), ping-pong"),
    Micro("fib_yield", ("spool",), "ns_per_task", "ns",
          "per task: submit + yield_until_done"),
    Micro("fib_block", ("spool",), "ns_per_task", "ns",
          "per task: submit + blocking future_result"),
    Micro("fiber_switch", ("spool",), "fiber_switch_ns", "ns",
          "per fiber switch (perf/fiber_switch)", workers=1),
    Micro("loop_overhead", ("spool",), "ns_per_iteration_overhead", "ns",
          "per index: spool_for grain 0 minus a plain loop", workers=1),
    Micro("map", ("spool",), "ns_per_item_map", "ns",
          "per item: spool_map over 10^6 items"),
    Micro("submit_copy", ("spool",), "ns_per_submit_copy", "ns",
          "per 32-byte spool_submit_copy, from a task"),
)
MICRO_BY_NAME = {m.name: m for m in MICROS}
ALL_KERNELS = SCALING + tuple(m.name for m in MICROS)


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def parse_args(argv):
    p = argparse.ArgumentParser(prog="perf/run", description=__doc__.split("\n")[0])
    p.add_argument("--build-dir", default=None,
                   help="the configured build directory (default: build-perf)")
    p.add_argument("--workers", default=None,
                   help="worker counts, e.g. 1,2,4,8,16 (default: the number of CPUs)")
    p.add_argument("--micro-workers", type=int, default=2,
                   help="workers for the micro-benchmarks other than spawn (default 2)")
    p.add_argument("--size", default="small", choices=SIZES,
                   help="tiny (CI: builds, runs, checks), small (default), full "
                   "(issue 5's sizes), large (16-core scaling sizes)")
    p.add_argument("--reps", type=int, default=None,
                   help="repetitions (default 5; 1 for --size tiny)")
    p.add_argument("--kernels", default=None,
                   help="comma-separated subset of: " + ",".join(ALL_KERNELS))
    p.add_argument("--impls", default=None,
                   help="comma-separated subset of: " + ",".join(IMPLS))
    p.add_argument("--out", default=None,
                   help="JSON output (default perf/results/<timestamp>.json)")
    p.add_argument("--trace", default=None, metavar="DIR",
                   help="also run spool with SPOOL_TRACE on (the 'spool, tracing on' "
                   "column: its cost), keep one trace per kernel and worker count in DIR "
                   "(Chrome JSON, for Perfetto) and print each worker's time busy, "
                   "searching and asleep")
    p.add_argument("--timeout", type=float, default=None,
                   help="seconds before one measurement counts as a hang "
                   "(default 600; 120 for tiny)")
    args = p.parse_args(argv)
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    args.repo = repo
    if args.build_dir is None:
        args.build_dir = os.path.join(repo, "build-perf")
    if args.workers is None:
        args.workers = [len(os.sched_getaffinity(0)) or 1]
    else:
        try:
            args.workers = sorted({int(w) for w in args.workers.split(",") if w})
        except ValueError:
            p.error("--workers takes a comma-separated list of numbers")
        if not args.workers or min(args.workers) < 1:
            p.error("--workers: counts must be at least 1")
    if args.micro_workers < 1:
        p.error("--micro-workers must be at least 1")
    if args.reps is None:
        args.reps = 1 if args.size == "tiny" else 5
    if args.reps < 1:
        p.error("--reps must be at least 1")
    if args.timeout is None:
        args.timeout = 120.0 if args.size == "tiny" else 600.0
    args.kernels = select(p, "--kernels", args.kernels, ALL_KERNELS)
    explicit = args.impls is not None
    args.impls = select(p, "--impls", args.impls, IMPLS)
    if not explicit:
        args.impls = [i for i in args.impls if i not in OPTIONAL_IMPLS]
    if args.trace:
        args.trace = os.path.abspath(args.trace)
        if "spool_trace" not in args.impls:
            args.impls.append("spool_trace")
    if args.out is None:
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        args.out = os.path.join(repo, "perf", "results", stamp + ".json")
    return args


def select(parser, option, text, known):
    if text is None:
        return list(known)
    chosen = [k for k in text.split(",") if k]
    unknown = [k for k in chosen if k not in known]
    if unknown:
        parser.error("%s: unknown %s (known: %s)" % (option, ",".join(unknown), ",".join(known)))
    return [k for k in known if k in chosen]


# ---- the machine ----------------------------------------------------------


def command_output(cmd, cwd=None):
    try:
        out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=30)
        return out.stdout.strip() if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def first_line(text):
    return text.splitlines()[0] if text else None


def count_sysfs(pattern):
    base = os.path.dirname(pattern)
    prefix = os.path.basename(pattern)
    try:
        return len([d for d in os.listdir(base) if re.fullmatch(prefix, d)])
    except OSError:
        return None


def machine_description(repo):
    cpu = None
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    numa = command_output(["hwloc-calc", "--number-of", "numanode", "all"])
    cores = command_output(["hwloc-calc", "--number-of", "core", "all"])
    pus = command_output(["hwloc-calc", "--number-of", "pu", "all"])
    source = "hwloc"
    if numa is None:
        numa = count_sysfs("/sys/devices/system/node/node[0-9]+")
        source = "/sys"
    topology = command_output(["lstopo-no-graphics", "--of", "console", "--no-io"])
    commit = command_output(["git", "rev-parse", "HEAD"], cwd=repo)
    dirty = command_output(["git", "status", "--porcelain", "--untracked-files=no"], cwd=repo)
    return {
        "cpu_model": cpu,
        "hardware_threads_usable": len(os.sched_getaffinity(0)),
        "hardware_threads": int(pus) if pus and pus.isdigit() else os.cpu_count(),
        "cores": int(cores) if cores and cores.isdigit() else None,
        "numa_nodes": int(numa) if isinstance(numa, str) and numa.isdigit() else numa,
        "topology_source": source,
        "topology": topology,
        "os": platform.platform(),
        "compilers": {
            "cc": first_line(command_output(["cc", "--version"])),
            "c++": first_line(command_output(["c++", "--version"])),
            "clang": first_line(command_output(["clang", "--version"])),
        },
        "python": platform.python_version(),
        "load_average_at_start": list(os.getloadavg()),
        "git_commit": commit or "none (no commit yet)",
        "git_dirty": bool(dirty) if dirty is not None else None,
    }


# ---- running --------------------------------------------------------------


class Series:
    """All repetitions of one (kernel, impl, workers)."""

    def __init__(self, kernel, impl, workers):
        self.kernel, self.impl, self.workers = kernel, impl, workers
        self.seconds, self.metrics = [], {}
        self.status = "ok"  # ok | n/a | FAIL
        self.message = ""
        self.params = self.value = self.version = ""
        self.values = set()

    def key(self):
        return (self.kernel, self.impl, self.workers)


def binary_path(build_dir, impl):
    return os.path.join(build_dir, "perf", BINARIES[impl])


def fiber_switch_path(build_dir):
    return os.path.join(build_dir, "perf", "fiber_switch", "fiber_switch_bench")


def plan(args, available):
    """The measurements of one repetition, grouped by kernel: lists of
    (kernel, impl, workers)."""
    groups = []
    for kernel in args.kernels:
        jobs = []
        if kernel in SCALING:
            for impl in ("serial", "serial_plain"):
                if impl in args.impls and (impl == "serial" or kernel == "fib"):
                    jobs.append((kernel, impl, 1))
            for w in args.workers:
                for impl in SPOOLS + ("spool_trace",) + PEERS + (DYNAMIC if kernel in LOOPS else ()):
                    if impl in args.impls and impl in available:
                        jobs.append((kernel, impl, w))
        else:
            micro = MICRO_BY_NAME[kernel]
            w = micro.workers or args.micro_workers
            for impl in micro.impls:
                # fiber_switch comes from its own binary, built with spool.
                if impl in args.impls and (impl in available or kernel == "fiber_switch"):
                    jobs.append((kernel, impl, w))
        if jobs:
            groups.append(jobs)
    return groups


def run_one(args, job, available):
    """Runs one measurement; returns a dict like a BENCH record."""
    kernel, impl, workers = job
    if impl not in available:
        return {"check": "n/a", "message": available.get("_why_" + impl, "not built")}
    if kernel == "fiber_switch":
        return run_fiber_switch(args)
    name = kernel + "_dynamic" if impl in DYNAMIC else kernel
    cmd = [available[impl], "--kernel", "fib_plain" if impl == "serial_plain" else name,
           "--size", args.size, "--workers", str(workers)]
    env = None
    if impl == "spool_trace":
        trace_dir = args.trace or os.path.join(args.build_dir, "perf", "traces")
        os.makedirs(trace_dir, exist_ok=True)
        env = dict(os.environ, SPOOL_TRACE=os.path.join(trace_dir, "%s-w%d.json" % (kernel, workers)))
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout, env=env)
    except subprocess.TimeoutExpired:
        return {"check": "FAIL",
                "message": "no answer within %.0f s (hang?): %s" % (args.timeout, " ".join(cmd))}
    record = None
    for line in proc.stdout.splitlines():
        if line.startswith("BENCH "):
            try:
                record = json.loads(line[6:])
            except ValueError:
                pass
    tail = " | ".join(proc.stderr.strip().splitlines()[-3:])
    if proc.returncode < 0:
        return {"check": "FAIL", "message": "killed by signal %d: %s%s" % (
            -proc.returncode, " ".join(cmd), (" -- " + tail) if tail else "")}
    if record is None:
        return {"check": "FAIL", "message": "exit status %d without a result: %s%s" % (
            proc.returncode, " ".join(cmd), (" -- " + tail) if tail else "")}
    if record.get("check") == "ok" and proc.returncode != 0:
        record["check"] = "FAIL"
        record["message"] = "exit status %d after a result" % proc.returncode
    if record.get("check") == "FAIL":
        record["message"] = (record.get("message") or "") + " [" + " ".join(cmd) + "]"
    return record


def run_fiber_switch(args):
    path = fiber_switch_path(args.build_dir)
    if not os.access(path, os.X_OK):
        return {"check": "n/a", "message": "perf/fiber_switch is not built"}
    try:
        proc = subprocess.run([path], capture_output=True, text=True, timeout=args.timeout)
    except subprocess.TimeoutExpired:
        return {"check": "FAIL", "message": "fiber_switch_bench did not finish"}
    metrics = {k: float(v) for k, v in
               re.findall(r"^(\w+_ns)\s+([0-9.eE+-]+)\s*$", proc.stdout, re.M)}
    if proc.returncode != 0 or "fiber_switch_ns" not in metrics:
        return {"check": "FAIL", "message": "fiber_switch_bench: exit %d, output %r" % (
            proc.returncode, proc.stdout[-200:])}
    ns = metrics["fiber_switch_ns"]
    return {"check": "ok", "params": "", "seconds": ns * 1e-9, "runtime_version": "",
            "value": ", ".join("%s %g" % kv for kv in sorted(metrics.items())),
            "metrics": metrics}


def run_suite(args, available):
    groups = plan(args, available)
    total = sum(len(g) for g in groups) * args.reps
    series = {}
    done = 0
    started = time.time()
    for rep in range(args.reps):
        for jobs in groups:
            # Alternate: rotate the order of the implementations each
            # repetition (the serial ones first stay with the others).
            shift = rep % len(jobs)
            for job in jobs[shift:] + jobs[:shift]:
                s = series.setdefault(job, Series(*job))
                done += 1
                if s.status != "ok":
                    continue  # n/a or failed: not repeated
                t0 = time.time()
                r = run_one(args, job, available)
                status = r.get("check", "FAIL")
                label = "[%*d/%d] rep %d/%d  %-10s %-12s w=%-3d" % (
                    len(str(total)), done, total, rep + 1, args.reps, job[0], job[1], job[2])
                if status == "ok":
                    s.seconds.append(r["seconds"])
                    for name, value in r.get("metrics", {}).items():
                        s.metrics.setdefault(name, []).append(value)
                    s.params, s.value = r.get("params", ""), r.get("value", "")
                    s.values.add(s.value)
                    s.version = r.get("runtime_version", "")
                    log("%s %10.6f s  (%.1f s)" % (label, r["seconds"], time.time() - t0))
                else:
                    s.status, s.message = status, r.get("message", "")
                    s.version = r.get("runtime_version", s.version)
                    log("%s %s: %s" % (label, status, s.message))
    log("suite finished in %.1f s" % (time.time() - started))
    return series


# ---- summaries ------------------------------------------------------------


def summary(values):
    if not values:
        return None
    v = sorted(values)
    if len(v) >= 4:
        q = statistics.quantiles(v, n=4, method="inclusive")
        q1, q3 = q[0], q[2]
    else:
        q1, q3 = v[0], v[-1]
    return {"median": statistics.median(v), "min": v[0], "max": v[-1], "q1": q1, "q3": q3,
            "n": len(v)}


def cross_check(series):
    """Failures where implementations disagree on a kernel's answer."""
    problems = []
    for kernel in SCALING:
        answers = {}
        for s in series.values():
            if s.kernel == kernel and s.status == "ok":
                for v in s.values:
                    answers.setdefault(v, []).append("%s/w=%d" % (s.impl, s.workers))
        if len(answers) > 1:
            problems.append("%s: implementations disagree: %s" % (kernel, "; ".join(
                "%s -> %s" % (", ".join(who), v) for v, who in answers.items())))
        for s in series.values():
            if s.kernel == kernel and len(s.values) > 1:
                problems.append("%s %s w=%d: different answers across repetitions: %s" % (
                    kernel, s.impl, s.workers, sorted(s.values)))
    return problems


def fmt_time(t):
    if t is None:
        return "-"
    if t >= 100:
        return "%.1f s" % t
    if t >= 1:
        return "%.3f s" % t
    if t >= 1e-3:
        return "%.2f ms" % (t * 1e3)
    return "%.1f us" % (t * 1e6)


def fmt_ns(v):
    if v is None:
        return "-"
    if abs(v) >= 1e6:
        return "%.2f ms" % (v / 1e6)
    if abs(v) >= 1e3:
        return "%.2f us" % (v / 1e3)
    return "%.1f ns" % v


def build_report(args, series, available, machine, problems):
    results = []
    for s in series.values():
        entry = {"kernel": s.kernel, "impl": s.impl, "workers": s.workers, "status": s.status,
                 "message": s.message, "params": s.params, "value": s.value,
                 "runtime_version": s.version, "samples": s.seconds,
                 "seconds": summary(s.seconds),
                 "metrics": {k: dict(summary(v), samples=v) for k, v in s.metrics.items()}}
        results.append(entry)
    derived = derive(series)
    return {
        "schema": "spool-perf/1",
        "created": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": " ".join(["perf/run"] + sys.argv[1:]),
        "size": args.size, "reps": args.reps, "workers": args.workers,
        "micro_workers": args.micro_workers,
        "machine": machine,
        "implementations": {impl: ({"binary": available[impl],
                                    "version": next((s.version for s in series.values()
                                                     if s.impl == impl and s.version), None)}
                                   if impl in available else
                                   {"missing": available.get("_why_" + impl, "not built")})
                            for impl in IMPLS},
        "results": results,
        "derived": derived,
        "failures": problems,
    }


def median_of(series, key):
    s = series.get(key)
    if s is None or s.status != "ok" or not s.seconds:
        return None
    return statistics.median(s.seconds)


def metric_of(series, key, name):
    s = series.get(key)
    if s is None or s.status != "ok" or name not in s.metrics:
        return None
    return statistics.median(s.metrics[name])


def derive(series):
    """Speed-ups over serial and spool's ratio to each peer."""
    out = []
    for s in series.values():
        if s.kernel not in SCALING or s.impl in ("serial", "serial_plain"):
            continue
        t = median_of(series, s.key())
        serial = median_of(series, (s.kernel, "serial", 1))
        spool = median_of(series, (s.kernel, "spool", s.workers))
        out.append({
            "kernel": s.kernel, "impl": s.impl, "workers": s.workers,
            "speedup_over_serial": serial / t if t and serial else None,
            "peer_time_over_spool_time": t / spool if t and spool and s.impl != "spool" else None,
        })
    return out


def print_table(args, series, available, machine):
    p = print
    p()
    p("spool benchmark suite: size %s, %d repetition%s, workers %s; machine: %s, %s hw threads,"
      " %s NUMA node(s)" % (args.size, args.reps, "" if args.reps == 1 else "s",
                            ",".join(map(str, args.workers)), machine["cpu_model"],
                            machine["hardware_threads_usable"], machine["numa_nodes"]))
    if machine["load_average_at_start"][0] > 0.5:
        p("warning: the machine was busy when the run started (load average %.1f over the last "
          "minute): figures are noisy" % machine["load_average_at_start"][0])
    missing = [i for i in IMPLS if i not in available and i in args.impls]
    if missing:
        p("not built, left out of the table: %s (see the meson configure output)" % ", ".join(
            "%s (%s)" % (i, BINARIES[i]) for i in missing))
    p("times: median of the repetitions [min .. max]; speed-up: serial (noinline) median / "
      "median; peer/spool: the peer's median / spool's (above 1: spool is faster)")
    p()
    header = "%-10s %-34s %3s  %-19s %11s  %-23s %8s  %10s" % (
        "kernel", "problem", "W", "implementation", "median", "[min .. max]", "speed-up",
        "peer/spool")
    p(header)
    p("-" * len(header))
    for kernel in args.kernels:
        if kernel not in SCALING:
            continue
        rows = [s for s in series.values() if s.kernel == kernel]
        if not rows:
            continue
        params = next((s.params for s in rows if s.params), "")
        serial = median_of(series, (kernel, "serial", 1))
        first = True
        order = sorted(rows, key=lambda s: (s.workers if s.impl not in ("serial", "serial_plain")
                                            else 0, IMPLS.index(s.impl)))
        last_w = None
        for s in order:
            w = "-" if s.impl in ("serial", "serial_plain") else str(s.workers)
            wcol = w if w != last_w else ""
            last_w = w
            name = impl_title(s.impl, kernel)
            lead = "%-10s %-34s" % (kernel if first else "", params[:34] if first else "")
            first = False
            if s.status != "ok":
                p("%s %3s  %-19s %s: %s" % (lead, wcol, name, s.status, s.message[:90]))
                continue
            st = summary(s.seconds)
            speedup = serial / st["median"] if serial else None
            spool = median_of(series, (kernel, "spool", s.workers))
            ratio = st["median"] / spool if spool and s.impl in PEERS + DYNAMIC else None
            p("%s %3s  %-19s %11s  [%9s .. %9s] %8s  %10s" % (
                lead, wcol, name, fmt_time(st["median"]), fmt_time(st["min"]),
                fmt_time(st["max"]), "%.2fx" % speedup if speedup else "",
                "%.2f" % ratio if ratio else ""))
        p()
    micros = [k for k in args.kernels if k in MICRO_BY_NAME]
    if micros:
        header = "%-13s %-46s %-28s %3s  %-19s %11s  %-23s" % (
            "micro", "what", "problem", "W", "implementation", "median", "[min .. max]")
        p(header)
        p("-" * len(header))
        for kernel in micros:
            m = MICRO_BY_NAME[kernel]
            first = True
            for impl in m.impls:
                s = series.get((kernel, impl, m.workers or args.micro_workers))
                if s is None:
                    continue
                lead = "%-13s %-46s %-28s %3d" % (kernel if first else "", m.what if first else "",
                                                  s.params[:28], s.workers)
                first = False
                if s.status != "ok" or m.metric not in s.metrics:
                    p("%s  %-19s %s: %s" % (lead, IMPL_TITLES[impl],
                                            s.status if s.status != "ok" else "n/a",
                                            s.message[:90]))
                    continue
                st = summary(s.metrics[m.metric])
                p("%s  %-19s %11s  [%9s .. %9s]" % (lead, IMPL_TITLES[impl], fmt_ns(st["median"]),
                                                    fmt_ns(st["min"]), fmt_ns(st["max"])))
        notes = micro_notes(args, series)
        if notes:
            p()
            for n in notes:
                p(n)
        p()


def micro_notes(args, series):
    notes = []
    ratio = metric_of(series, ("spawn", "spool", 1), "ratio_to_serial")
    serial = metric_of(series, ("spawn", "spool", 1), "serial_seconds")
    if ratio:
        s = series[("spawn", "spool", 1)]
        notes.append("spool %s on 1 worker: %.2fx the serial (noinline) time of %s" % (
            s.params.split(",")[0], ratio, fmt_time(serial)))
        shaped = metric_of(series, ("spawn", "spool-fn", 1), "shaped_seconds")
        vs_shaped = metric_of(series, ("spawn", "spool-fn", 1), "ns_per_spawn_vs_shaped")
        if shaped and vs_shaped is not None:
            notes.append("  spool-fn's code with a direct call of the forked spool_fn in place of "
                         "fork+sync takes %s (%.2fx the serial time);" % (
                             fmt_time(shaped), shaped / serial))
            notes.append("  against it, fork+sync alone cost %s per spawn" % fmt_ns(vs_shaped))
    for impl in ("spool-fn",) + PEERS:
        r = metric_of(series, ("spawn", impl, 1), "ratio_to_serial")
        if r:
            notes.append("%s on 1 worker: %.1fx the serial time" % (IMPL_TITLES[impl], r))
    w = args.micro_workers
    y = median_of(series, ("fib_yield", "spool", w))
    b = median_of(series, ("fib_block", "spool", w))
    if y and b:
        notes.append("fib_yield / fib_block on %d workers: %.2f (below 1: yielding is faster)" % (
            w, y / b))
    ts = median_of(series, ("tree", "spool", w))
    tt = median_of(series, ("tree", "tbb", w))
    if ts and tt:
        notes.append("tree: oneTBB time / spool time = %.2f" % (tt / ts))
    rs = median_of(series, ("submit_rt", "spool", w))
    rt = median_of(series, ("submit_rt", "tbb", w))
    if rs and rt:
        notes.append("submit_rt: oneTBB (enqueue + std::future) time / spool time = %.2f" % (
            rt / rs))
    lo = metric_of(series, ("loop_overhead", "spool", 1), "serial_ns_per_iteration")
    if lo is not None:
        notes.append("loop_overhead: the plain loop takes %s per index" % fmt_ns(lo))
    each = metric_of(series, ("map", "spool", w), "ns_per_item_submit_each")
    if each is not None:
        notes.append("map: a submit + result per item instead takes %s per item" % fmt_ns(each))
    heap = metric_of(series, ("submit_copy", "spool", w), "ns_per_malloc_submit_free")
    if heap is not None:
        notes.append("submit_copy: malloc + spool_submit + free instead takes %s per task" %
                     fmt_ns(heap))
    return notes


def find_binaries(args):
    available = {}
    for impl in IMPLS:
        path = binary_path(args.build_dir, impl)
        if os.access(path, os.X_OK):
            available[impl] = path
        else:
            available["_why_" + impl] = "%s is not built" % BINARIES[impl]
    return available


def main(argv):
    args = parse_args(argv)
    available = find_binaries(args)
    if "serial" not in available:
        log("perf: %s not found: build first (perf/run does)" % binary_path(args.build_dir,
                                                                          "serial"))
        return 2
    if "spool" not in available:
        log("perf: warning: perf_spool is not built: spool's figures will be missing")
    machine = machine_description(args.repo)
    log("perf: size %s, %d repetition(s), workers %s, kernels %s" % (
        args.size, args.reps, ",".join(map(str, args.workers)), ",".join(args.kernels)))
    series = run_suite(args, available)
    machine["load_average_at_end"] = list(os.getloadavg())
    problems = [("%s %s w=%d: %s" % (s.kernel, s.impl, s.workers, s.message))
                for s in series.values() if s.status == "FAIL"]
    problems += cross_check(series)
    print_table(args, series, available, machine)
    report = build_report(args, series, available, machine, problems)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(report, f, indent=1)
        f.write("\n")
    os.replace(tmp, args.out)
    print("results: %s" % args.out)
    if args.trace:
        import trace_summary
        print()
        print("Traces in %s (per worker: busy / searching / asleep, %% of the traced time)"
              % args.trace)
        for name in sorted(os.listdir(args.trace)):
            if name.endswith(".json"):
                print(trace_summary.summary_text(os.path.join(args.trace, name)))
    if problems:
        print()
        print("FAILED: %d problem(s):" % len(problems))
        for prob in problems:
            print("  - " + prob)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
