"""Run every benchmark, one after another, and print their tables.

    python bench/run_all.py            # full sizes (several minutes; scale.py needs PostgreSQL)
    python bench/run_all.py --quick    # small sizes, a few seconds each (CI)

Timings are printed, never judged. The exit status is 1 if a script failed (crashed or
exited non-zero), so CI notices a benchmark that no longer runs; scripts whose service is
missing (PostgreSQL, gunicorn) say so and exit 0 in --quick mode.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = [
    ("fanout.py", []),
    ("send_throughput.py", ["--postgres"]),
    ("save_overhead.py", []),
    ("verify.py", []),
    ("linksearch.py", []),
    ("parsers.py", []),
    ("memory.py", []),
    ("inbound.py", []),
    ("inbound_profile.py", []),
    ("answer_rate.py", []),
    ("inbound_attack.py", []),
    ("scale.py", ["--postgres"]),
    ("privacy.py", ["--postgres"]),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (CI)")
    args = parser.parse_args()
    mode = ["--quick"] if args.quick else []

    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"Benchmarks ({'quick' if args.quick else 'full'}): {sys.executable}; load {load}")
    failed: list[str] = []
    started = time.perf_counter()
    timings = []
    for script, extra in SCRIPTS:
        command = [sys.executable, str(HERE / script), *extra, *mode]
        print(f"\n==> {' '.join([Path(command[1]).name, *command[2:]])}", flush=True)
        script_started = time.perf_counter()
        status = subprocess.call(command, cwd=HERE.parent)  # noqa: S603 -- our own scripts
        seconds = time.perf_counter() - script_started
        timings.append((script, seconds, status))
        if status != 0:
            failed.append(f"{script} (exit {status})")
    total = time.perf_counter() - started

    print("\n==> Summary")
    for script, seconds, status in timings:
        print(f"    {'ok    ' if status == 0 else 'FAILED'}  {script:<18}{seconds:>7.1f}s")
    print(f"    total {total:.1f}s")
    if failed:
        print(f"failed: {', '.join(failed)}")
        sys.exit(1)


if __name__ == "__main__":
    main()
