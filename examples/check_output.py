#!/usr/bin/env python3
"""Runs an example and checks what it printed.

    check_output.py [--status N] [--stdout REGEX]... [--stderr REGEX]... -- PROGRAM ARGS...

Passes when the program exits with status N (default 0) and every REGEX
matches a line of its standard output (--stdout) or error (--stderr).
Prints the program's output, then "N passed, M failed" over the checks, and
exits 1 when a check failed, so that meson test can show why.
"""
import re
import subprocess
import sys


def main(argv):
    status = 0
    want = []  # (stream name, regex)
    i = 0
    while i < len(argv) and argv[i] != "--":
        opt = argv[i]
        if opt == "--status":
            status = int(argv[i + 1])
        elif opt in ("--stdout", "--stderr"):
            want.append((opt[2:], re.compile(argv[i + 1])))
        else:
            print("check_output.py: unknown option " + opt)
            return 2
        i += 2
    command = argv[i + 1 :]
    if not command:
        print("check_output.py: no program given after --")
        return 2
    run = subprocess.run(command, capture_output=True, text=True, timeout=600)
    streams = {"stdout": run.stdout, "stderr": run.stderr}
    sys.stdout.write(run.stdout)
    sys.stdout.write("".join("stderr: " + line + "\n" for line in run.stderr.splitlines()))
    passed = failed = 0
    if run.returncode == status:
        passed += 1
    else:
        failed += 1
        print("FAIL: exit status %d, expected %d" % (run.returncode, status))
    for stream, regex in want:
        if any(regex.search(line) for line in streams[stream].splitlines()):
            passed += 1
        else:
            failed += 1
            print("FAIL: no line of %s matches %r" % (stream, regex.pattern))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
