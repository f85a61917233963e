"""CLI start-up: how long each command takes to answer, against ``python -c pass``.

A demo archive is built first (``wirewatch demo`` on the bundled offline newswire, so
nothing leaves 127.0.0.1). Then each command runs RUNS times as a fresh process, the way an
analyst types it, alternating with the baseline (the same interpreter doing nothing), and
the table gives the medians and their ratio. The goal of issue 12: ``--version`` and
``--help`` within 150 ms, the reading commands within 300 ms.

wirewatch's own modules are compiled to bytecode first, as an installed copy's are (pip
compiles on install, and Python caches what it compiles on first import). Without that, a
machine that sets PYTHONDONTWRITEBYTECODE, as CI sandboxes often do, compiles every module
of the repository at every command: about 150 ms more here.

    .venv/bin/python benchmarks/cli.py [--runs 7]
"""

from __future__ import annotations

import argparse
import compileall
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASELINE = [sys.executable, "-c", "pass"]
REPO = Path(__file__).resolve().parent.parent


def timed(command: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, capture_output=True, check=True, timeout=120)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    wirewatch = [sys.executable, "-m", "monitor"]
    for package in ("monitor", "crawler"):
        compileall.compile_dir(REPO / package, quiet=1)
    with tempfile.TemporaryDirectory() as folder:
        demo = Path(folder) / "demo"
        subprocess.run([*wirewatch, "demo", "--dir", str(demo)], capture_output=True,
                       check=True, timeout=600)  # fmt: skip
        config = ["--config", str(demo / "config.yaml")]
        cases = {
            "wirewatch --version": [*wirewatch, "--version"],
            "wirewatch --help": [*wirewatch, "--help"],
            "wirewatch flagged": [*wirewatch, *config, "flagged"],
            "wirewatch show 1": [*wirewatch, *config, "show", "1"],
            "wirewatch status": [*wirewatch, *config, "status"],
            "wirewatch search Pyongyang": [*wirewatch, *config, "search", "Pyongyang"],
        }
        base: list[float] = []
        times: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.runs):
            for name, command in cases.items():
                base.append(timed(BASELINE, demo))
                times[name].append(timed(command, demo))
    floor = statistics.median(base)
    print(f"{'command':30} {'median':>9} {'x python -c pass':>17}")
    print(f"{'python -c pass (baseline)':30} {floor * 1000:7.0f} ms {1.0:16.1f}x")
    for name, seconds in times.items():
        middle = statistics.median(seconds)
        print(f"{name:30} {middle * 1000:7.0f} ms {middle / floor:16.1f}x")
    print(f"runs {args.runs}, each command alternating with the baseline")


if __name__ == "__main__":
    main()
