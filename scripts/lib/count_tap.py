#!/usr/bin/env python3
"""Count TAP results in meson test logs and print the closing line.

usage: count_tap.py [--skips-fail] TESTLOG.json...
Each "ok" line is a pass, each "not ok" a failure (a "# SKIP" directive
is a skip); a test program that failed without a "not ok" line (a crash,
a timeout, a sanitizer report at exit) counts as one more failure.
With --skips-fail, skips count as failures too: scripts/test installs
everything every test needs, so there a skip means a check that did not
run, and must not pass unnoticed.
"""
import json
import re
import sys

OK = re.compile(r"^(not )?ok\b(.*)$")


def main() -> int:
    passed = failed = skipped = 0
    broken = []
    args = sys.argv[1:]
    skips_fail = "--skips-fail" in args
    for path in (a for a in args if a != "--skips-fail"):
        try:
            lines = open(path, encoding="utf-8", errors="replace").read().splitlines()
        except FileNotFoundError:
            continue
        for line in lines:
            if not line.strip():
                continue
            t = json.loads(line)
            p = f = 0
            for out in (t.get("stdout") or "").splitlines():
                m = OK.match(out)
                if not m:
                    continue
                if "# SKIP" in m.group(2).upper():
                    skipped += 1
                elif m.group(1):
                    f += 1
                else:
                    p += 1
            result = t.get("result", "")
            if result == "SKIP":
                skipped += 1
            elif result not in ("OK", "EXPECTEDFAIL") and f == 0:
                f = 1
            elif result == "OK" and p == 0 and f == 0:
                p = 1  # a plain (exit status) test, such as a fuzzer run
            if result not in ("OK", "SKIP", "EXPECTEDFAIL"):
                broken.append(f"{t.get('name')} ({result})")
            passed += p
            failed += f
    if broken:
        print("failed programs: " + ", ".join(broken))
    if skips_fail and skipped:
        failed += skipped
        print(f"{skipped} skipped checks count as failures: something the tests need is missing")
    line = f"tests: {passed} passed, {failed} failed"
    if skipped:
        line += f", {skipped} skipped"
    print(line)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
