#!/usr/bin/env python3
"""Test of examples/du: builds a temporary tree, runs du on it, and compares
its total with a serial walk made here (lstat sizes of the root and of every
entry below it, symbolic links not followed, unreadable directories' contents
left out).

    du_test.py PATH_TO_DU

The tree has nested directories, files of many sizes, an empty directory, a
symbolic link to a directory (counted, not followed) and a dangling one. An
unreadable directory: one is made by chmod 000, and du must report it on
stderr and exit 1. As root chmod 000 denies nothing, so du is run as user
nobody (setpriv); where that cannot be done, the error path is checked with
a second operand that does not exist instead (said so in the output). Ends
with "N passed, M failed".
"""
import os
import pwd
import random
import re
import shutil
import stat
import subprocess
import sys
import tempfile


def serial_total(root, unreadable=None):
    """The total du must print; `unreadable` is a directory whose entries
    du cannot see (it still counts the directory itself)."""
    total = os.lstat(root).st_size
    for dirpath, dirnames, filenames in os.walk(root, onerror=lambda e: None):
        for name in dirnames + filenames:
            total += os.lstat(os.path.join(dirpath, name)).st_size
        if unreadable is not None and unreadable in (os.path.join(dirpath, d) for d in dirnames):
            dirnames.remove(os.path.basename(unreadable))
    return total


def as_nobody():
    """A command prefix that runs a program as user nobody, when this test
    runs as root and setpriv exists; else None."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        return None
    try:
        pw = pwd.getpwnam("nobody")
    except KeyError:
        return None
    return ["setpriv", "--reuid=%d" % pw.pw_uid, "--regid=%d" % pw.pw_gid, "--clear-groups"]


def make_tree(root, rng):
    dirs = [root]
    for i in range(300):
        parent = rng.choice(dirs)
        d = os.path.join(parent, "d%d" % i)
        os.mkdir(d)
        dirs.append(d)
    for i in range(1500):
        with open(os.path.join(rng.choice(dirs), "f%d" % i), "wb") as f:
            f.write(b"x" * rng.choice([0, 1, 17, 512, 4096, 10000, rng.randrange(100000)]))
    os.symlink(dirs[1], os.path.join(root, "link-to-dir"))
    os.symlink(os.path.join(root, "nowhere"), os.path.join(dirs[5], "dangling"))
    os.mkdir(os.path.join(root, "empty"))
    return dirs


def main(argv):
    du = argv[1]
    passed = failed = 0

    def check(ok, what):
        nonlocal passed, failed
        if ok:
            passed += 1
        else:
            failed += 1
            print("FAIL: " + what)

    with tempfile.TemporaryDirectory() as tmp:
        root = os.path.join(tmp, "tree")
        os.mkdir(root)
        dirs = make_tree(root, random.Random(2026))

        # 1. A readable tree: exit 0, the serial walk's total, nothing on stderr.
        run = subprocess.run([du, root], capture_output=True, text=True, timeout=120)
        print(run.stdout, end="")
        expected = serial_total(root)
        check(run.returncode == 0, "exit status %d on a readable tree" % run.returncode)
        check(run.stdout == "%d\t%s\n" % (expected, root),
              "output %r, expected total %d" % (run.stdout, expected))
        check(run.stderr == "", "stderr %r" % run.stderr)

        # 2. An unreadable directory.
        locked = dirs[7]
        os.chmod(locked, 0)
        try:
            prefix = []
            if os.access(locked, os.R_OK):
                # Root reads anything: drop to nobody, if nobody can reach du
                # and the tree (the temporary directory is private).
                prefix = as_nobody()
                if prefix is not None:
                    os.chmod(tmp, 0o755)
                    probe = subprocess.run(prefix + [du, dirs[1]], capture_output=True,
                                           timeout=120)
                    if probe.returncode != 0:
                        prefix = None
            if prefix is None:
                print("running as root, and du cannot run as nobody here: chmod 000 does not "
                      "deny reads; checking the error path with an operand that does not "
                      "exist instead")
                missing = os.path.join(root, "d3", "missing")
                run = subprocess.run([du, root, missing], capture_output=True, text=True,
                                     timeout=120)
                bad_line = re.compile(r"^du: cannot access '%s': No such file or directory$"
                                      % re.escape(missing), re.M)
                expected = serial_total(root)
            else:
                if prefix:
                    print("running as root: du runs as user nobody, to whom chmod 000 denies")
                run = subprocess.run(prefix + [du, root], capture_output=True, text=True,
                                     timeout=120)
                bad_line = re.compile(r"^du: cannot read directory '%s': Permission denied$"
                                      % re.escape(locked), re.M)
                expected = serial_total(root, unreadable=locked)
            print(run.stdout, end="")
            print("".join("stderr: " + l + "\n" for l in run.stderr.splitlines()), end="")
            check(run.returncode == 1, "exit status %d with an error, expected 1" % run.returncode)
            check(bad_line.search(run.stderr) is not None, "the error is not reported on stderr")
            check(run.stdout.startswith("%d\t%s\n" % (expected, root)),
                  "total %r, expected %d" % (run.stdout, expected))
        finally:
            os.chmod(locked, stat.S_IRWXU)

    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
