"""The first ``./scripts/app``: what Qt's plugins lack is found by ldd and mapped to Debian packages through
one table (scripts/qt_libs.py); a PySide6 release that links a new library fails here, not for a user."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load_qt_libs() -> ModuleType:
    spec = importlib.util.spec_from_file_location("qt_libs", ROOT / "scripts" / "qt_libs.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


qt_libs = _load_qt_libs()
BUNDLED = Path("/venv/lib/python3.13/site-packages/PySide6")
LDD_ON_A_FRESH_DEBIAN = f"""\
\tlinux-vdso.so.1 (0x00007ffd5d9e5000)
\tlibQt6XcbQpa.so.6 => {BUNDLED}/Qt/plugins/platforms/../../lib/libQt6XcbQpa.so.6 (0x00007f0e1a1e0000)
\tlibGL.so.1 => /lib/x86_64-linux-gnu/libGL.so.1 (0x00007f0e1a159000)
\tlibxkbcommon-x11.so.0 => not found
\tlibxcb-cursor.so.0 => not found
\tlibxcb-icccm.so.4 => not found
\tlibxcb-util.so.1 => not found
\tlibxcb.so.1 => /lib/x86_64-linux-gnu/libxcb.so.1 (0x00007f0e19f70000)
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f0e19c00000)
\t/lib64/ld-linux-x86-64.so.2 (0x00007f0e1a2b3000)
"""


def test_not_found_lines_name_the_packages_to_install() -> None:
    lacking = qt_libs.missing(LDD_ON_A_FRESH_DEBIAN, BUNDLED)
    assert lacking == ["libxcb-cursor.so.0", "libxcb-icccm.so.4", "libxcb-util.so.1", "libxkbcommon-x11.so.0"]
    packages, lines = qt_libs.advice(lacking)
    assert packages == ["libxcb-cursor0", "libxcb-icccm4", "libxcb-util1", "libxkbcommon-x11-0"]
    assert len(lines) == 1 and "libxcb-cursor.so.0" in lines[0]


def test_the_system_libraries_leave_out_bundled_qt_and_the_c_library() -> None:
    assert set(qt_libs.system_libs(LDD_ON_A_FRESH_DEBIAN, BUNDLED)) == {
        "libGL.so.1",
        "libxkbcommon-x11.so.0",
        "libxcb-cursor.so.0",
        "libxcb-icccm.so.4",
        "libxcb-util.so.1",
        "libxcb.so.1",
    }


def test_a_library_no_package_is_known_for_is_named() -> None:
    text = LDD_ON_A_FRESH_DEBIAN + "\tlibxcb-future.so.7 => not found\n"
    packages, lines = qt_libs.advice(qt_libs.missing(text, BUNDLED))
    assert "libxcb-cursor0" in packages
    assert [line for line in lines if "no package is known for libxcb-future.so.7" in line]


def test_nothing_is_missing_when_everything_resolves() -> None:
    text = "\n".join(line for line in LDD_ON_A_FRESH_DEBIAN.splitlines() if "not found" not in line)
    assert qt_libs.missing(text, BUNDLED) == []


# --- this machine: the real plugins, the real ldd, the real package database ---------------------------


def plugin_libraries() -> dict[str, str | None]:
    pyside = qt_libs.pyside6_dir()
    if sys.platform != "linux" or pyside is None or shutil.which("ldd") is None:
        pytest.skip("ldd and PySide6's Linux plugins are needed")
    found: dict[str, str | None] = {}
    for rel in qt_libs.PLUGINS:
        assert (pyside / rel).exists(), f"PySide6 no longer ships {rel}: update scripts/qt_libs.py's PLUGINS"
        found.update(qt_libs.system_libs(qt_libs.ldd(pyside / rel), pyside))
    return found


def test_the_table_covers_every_library_the_plugins_link() -> None:
    libraries = plugin_libraries()
    assert "libxcb-cursor.so.0" in libraries  # the one Qt >= 6.5 needs for xcb: ldd output was read
    uncovered = sorted(set(libraries) - set(qt_libs.TABLE))
    assert not uncovered, f"add these to scripts/qt_libs.py's TABLE (dpkg -S <path>): {uncovered}"


def owner(path: str) -> str | None:
    """The Debian package that ships ``path`` (usr-merged systems record either spelling)."""
    for candidate in dict.fromkeys([path, os.path.realpath(path), "/usr" + path]):
        proc = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
        if proc.returncode == 0:
            return proc.stdout.split(":")[0].split(",")[0].strip()
    return None


def test_the_table_names_the_package_dpkg_says_ships_each_library() -> None:
    if shutil.which("dpkg") is None:
        pytest.skip("dpkg is needed to check the Debian package names")
    libraries = plugin_libraries()
    wrong = {
        name: (qt_libs.TABLE.get(name), owner(path))
        for name, path in libraries.items()
        if path is not None and owner(path) != qt_libs.TABLE.get(name)
    }
    assert not wrong, f"soname: (table, dpkg -S): {wrong}"


# --- scripts/bootstrap.sh and scripts/app -------------------------------------------------------------


def test_a_second_bootstrap_is_silent_and_remembers_the_check() -> None:
    # (scripts/test ran it before pytest: normally both runs here are the fast path)
    for _ in range(2):
        proc = subprocess.run(
            ["bash", "-c", f"source {ROOT}/scripts/bootstrap.sh"], capture_output=True, text=True, timeout=300
        )
        assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    if sys.platform == "linux":
        lines = (ROOT / ".venv" / ".asgiscope-installed").read_text().splitlines()
        assert lines[1:] == ["qt-libs: ok"]


def test_app_without_a_display_says_so_instead_of_aborting() -> None:
    if sys.platform != "linux":
        pytest.skip("DISPLAY/WAYLAND_DISPLAY decide only on Linux")
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    proc = subprocess.run(
        [ROOT / "scripts" / "app"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 1
    assert "asgiscope: no display" in proc.stderr
    assert "Traceback" not in proc.stderr and "core dumped" not in proc.stderr
