"""Real services for the tests from Debian's packages, installed with apt-get when missing.

As root on a Debian machine (this project's CI) a missing package is installed once; anywhere
else the tests that need it are skipped, saying which package is missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

APT_TIMEOUT = 900  # seconds to install a package


def installed(packages: list[str], programs: list[str]) -> list[str]:
    """Return the paths of *programs*, installing *packages* with apt-get when one is missing."""
    found = [shutil.which(program) for program in programs]
    if all(found):
        return [path for path in found if path]
    if not shutil.which("apt-get") or os.geteuid() != 0:
        pytest.skip(f"{', '.join(packages)} missing and cannot be installed here (apt-get, root)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *packages]):
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=APT_TIMEOUT)
        assert done.returncode == 0, f"{' '.join(command)} failed: {done.stderr[-2000:]}"
    found = [shutil.which(program) for program in programs]
    assert all(found), f"apt-get installed {', '.join(packages)} but not all of {programs}"
    return [path for path in found if path]
