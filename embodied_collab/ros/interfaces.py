"""Find the ``embodied_collab_interfaces`` package built by ``scripts/build_ros_ws.sh``.

In a sourced ROS workspace the package is importable as is. Otherwise this module adds the
workspace's Python path and preloads its typesupport libraries (the generated Python extensions
link against them, and ``LD_LIBRARY_PATH`` cannot change inside a running process), so that
``embodied-collab`` and the tests work without sourcing ``ros_ws/install/setup.bash``.
"""

from __future__ import annotations

import ctypes
import importlib
import logging
import os
import sys
from pathlib import Path
from types import ModuleType

from embodied_collab.ros.graph import INTERFACES_PACKAGE, LAUNCH_DIR

logger = logging.getLogger(__name__)

#: Environment variable naming a colcon install directory to use instead of ros_ws/install.
INSTALL_ENV = "EMBODIED_COLLAB_ROS_INSTALL"

_loaded: bool | None = None


def install_dir() -> Path:
    """The colcon install directory holding the interfaces (env override or ros_ws/install)."""
    env = os.environ.get(INSTALL_ENV)
    return Path(env) if env else LAUNCH_DIR.parent / "ros_ws" / "install"


def _prefixes(root: Path) -> list[Path]:
    # --merge-install puts everything in root; the default isolated layout uses root/<pkg>.
    return [p for p in (root / INTERFACES_PACKAGE, root) if (p / "lib").is_dir()]


def _preload(lib_dir: Path) -> None:
    pending = sorted(lib_dir.glob(f"lib{INTERFACES_PACKAGE}__*.so"))
    # Libraries depend on each other; load in rounds until no progress.
    while pending:
        failed = []
        for lib in pending:
            try:
                ctypes.CDLL(str(lib), mode=ctypes.RTLD_GLOBAL)
            except OSError:
                failed.append(lib)
        if len(failed) == len(pending):
            raise ImportError(f"cannot load {[str(p) for p in failed]}")
        pending = failed


def load() -> bool:
    """Make ``embodied_collab_interfaces`` importable; False if it is not built."""
    global _loaded
    if _loaded is not None:
        return _loaded
    try:
        importlib.import_module(f"{INTERFACES_PACKAGE}.msg")
        _loaded = True
        return True
    except ImportError:
        pass
    for prefix in _prefixes(install_dir()):
        for site in sorted(prefix.glob("lib/python3*/site-packages")):
            if not (site / INTERFACES_PACKAGE).is_dir():
                continue
            try:
                _preload(prefix / "lib")
                sys.path.insert(0, str(site))
                importlib.import_module(f"{INTERFACES_PACKAGE}.msg")
                importlib.import_module(f"{INTERFACES_PACKAGE}.srv")
            except ImportError as exc:
                logger.warning("found %s in %s but could not import it: %s",
                               INTERFACES_PACKAGE, prefix, exc)
                continue
            logger.debug("using %s from %s", INTERFACES_PACKAGE, prefix)
            _loaded = True
            return True
    _loaded = False
    return False


def msg() -> ModuleType | None:
    """The ``embodied_collab_interfaces.msg`` module, or None if the package is not built."""
    return importlib.import_module(f"{INTERFACES_PACKAGE}.msg") if load() else None


def srv() -> ModuleType | None:
    """The ``embodied_collab_interfaces.srv`` module, or None if the package is not built."""
    return importlib.import_module(f"{INTERFACES_PACKAGE}.srv") if load() else None
