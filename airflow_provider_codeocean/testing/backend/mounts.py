"""Data assets inside a run: real, read-only directories under ``../data/<mount>``.

Code Ocean mounts data assets read-only into the container. The emulator copies each asset into the
run's ``data/`` folder (following links, so ``find`` and ``Path.rglob`` see plain files) and makes
the copy read-only, so a capsule that writes into a mount fails as it would there, and the user's
seeded folders are never touched. Permission bits do not stop root, so when the emulator runs as
root the run additionally gets its ``data/`` folder bind-mounted read-only in a private mount
namespace, where ``unshare`` allows it.
"""

from __future__ import annotations

import functools
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

_READ_ONLY_DIR = stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH
_READ_ONLY_FILE = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH
# Run inside a private mount namespace: bind data/ onto itself read-only, then exec code/run.
# If the bind fails, the run still starts, protected by the permission bits alone.
_SHELL = 'mount --bind ../data ../data 2>/dev/null && mount -o remount,bind,ro ../data 2>/dev/null; exec "$0" "$@"'


def copy_read_only(source: Path, destination: Path) -> None:
    shutil.copytree(source, destination, symlinks=False)
    for folder, dirs, files in os.walk(destination):
        for name in files:
            path = os.path.join(folder, name)
            os.chmod(path, (os.stat(path).st_mode & stat.S_IXUSR) | _READ_ONLY_FILE)
        for name in dirs:
            os.chmod(os.path.join(folder, name), _READ_ONLY_DIR)
    os.chmod(destination, _READ_ONLY_DIR)


def remove_tree(path: Path) -> None:
    """``rmtree`` that also removes read-only mounts (their folders must be writable to be emptied)."""

    def make_writable(_: Callable[..., Any], failed: str, __: Any) -> None:
        parent = os.path.dirname(failed)
        try:
            os.chmod(parent, os.stat(parent).st_mode | stat.S_IWUSR)
            if os.path.isdir(failed) and not os.path.islink(failed):
                os.chmod(failed, os.stat(failed).st_mode | stat.S_IWUSR | stat.S_IXUSR)
                shutil.rmtree(failed, ignore_errors=True)
            else:
                os.unlink(failed)
        except OSError:
            pass

    if sys.version_info >= (3, 12):
        shutil.rmtree(path, onexc=make_writable)
    else:
        shutil.rmtree(path, onerror=make_writable)


@functools.cache
def _can_unshare() -> bool:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    try:
        probe = subprocess.run(
            ["unshare", "-m", "--propagation", "private", "true"], capture_output=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


def read_only_data(argv: list[str]) -> list[str]:
    """The command that runs ``argv`` (``code/run`` and its arguments) with ``../data`` read-only."""
    if not _can_unshare():
        return argv
    return ["unshare", "-m", "--propagation", "private", "sh", "-c", _SHELL, *argv]
