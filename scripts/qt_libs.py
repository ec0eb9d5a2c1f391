"""Which system libraries Qt's plugins lack here, and the Debian packages that provide them.

Run by scripts/bootstrap.sh with the venv's Python (stdlib only, PySide6 is located, never imported):
prints the packages to install on stdout, one line, and says on stderr what is missing. Exit 0 when
nothing is missing, 1 when something is, 2 when it cannot tell (no PySide6, no ldd).

``ldd`` on the plugins Qt loads at start is the truth: PySide6 wheels bundle Qt itself but link the
X11/xcb, GL, font and D-Bus libraries from the system, and a new PySide6 release may link a new one.
tests/test_bootstrap.py checks that TABLE covers every library ldd names on the test machine.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

# Qt's plugins, relative to the PySide6 package: both platform plugins (a desktop uses xcb, tests and
# screenshots offscreen) and the SVG image format the window icon is read with.
PLUGINS = (
    "Qt/plugins/platforms/libqxcb.so",
    "Qt/plugins/platforms/libqoffscreen.so",
    "Qt/plugins/imageformats/libqsvg.so",
)

# The C library and the kernel's vDSO: present wherever a Python runs, never a package to install.
BASE = frozenset({"linux-vdso.so.1", "libc.so.6", "libm.so.6", "libdl.so.2", "libpthread.so.0", "librt.so.1"})

# soname -> the Debian 12 package that ships it (checked with `dpkg -S` by tests/test_bootstrap.py).
TABLE: dict[str, str] = {
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libGLX.so.0": "libglx0",
    "libGLdispatch.so.0": "libglvnd0",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libX11.so.6": "libx11-6",
    "libXau.so.6": "libxau6",
    "libXdmcp.so.6": "libxdmcp6",
    "libbrotlicommon.so.1": "libbrotli1",
    "libbrotlidec.so.1": "libbrotli1",
    "libbsd.so.0": "libbsd0",
    "libcap.so.2": "libcap2",
    "libdbus-1.so.3": "libdbus-1-3",
    "libexpat.so.1": "libexpat1",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libgcc_s.so.1": "libgcc-s1",
    "libgcrypt.so.20": "libgcrypt20",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgpg-error.so.0": "libgpg-error0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "liblz4.so.1": "liblz4-1",
    "liblzma.so.5": "liblzma5",
    "libmd.so.0": "libmd0",
    "libpcre2-8.so.0": "libpcre2-8-0",
    "libpng16.so.16": "libpng16-16",
    "libstdc++.so.6": "libstdc++6",
    "libsystemd.so.0": "libsystemd0",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb.so.1": "libxcb1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libz.so.1": "zlib1g",
    "libzstd.so.1": "libzstd1",
}

# "libfoo.so.1 => /usr/lib/libfoo.so.1 (0x...)", "libfoo.so.1 => not found", "/lib64/ld-linux... (0x...)"
_LINE = re.compile(r"^\s*(?P<name>\S+)(?:\s+=>\s+(?P<path>not found|\S+))?")


def linked(ldd_output: str) -> dict[str, str | None]:
    """Every library an ``ldd`` listing names -> where it resolved, or None when it was not found."""
    found: dict[str, str | None] = {}
    for line in ldd_output.splitlines():
        m = _LINE.match(line)
        if not m or line.strip().startswith(("statically linked", "not a dynamic")):
            continue
        name, path = m["name"], m["path"]
        if path is None:  # the loader itself, named by path ("/lib64/ld-linux-x86-64.so.2")
            continue
        found[name] = None if path == "not found" else path
    return found


def system_libs(ldd_output: str, bundled: Path) -> dict[str, str | None]:
    """The libraries the system must provide: not bundled with PySide6, not the C library."""
    return {
        name: path
        for name, path in linked(ldd_output).items()
        if name not in BASE and not (path and Path(path).resolve().is_relative_to(bundled.resolve()))
    }


def missing(ldd_output: str, bundled: Path) -> list[str]:
    """Sonames ``ldd`` could not find, leaving out the ones PySide6 bundles (they never go missing)."""
    return sorted(name for name, path in system_libs(ldd_output, bundled).items() if path is None)


def packages_for(sonames: list[str]) -> tuple[list[str], list[str]]:
    """(Debian packages that provide the known sonames, sonames no package in TABLE provides)."""
    known = sorted({TABLE[s] for s in sonames if s in TABLE})
    return known, [s for s in sonames if s not in TABLE]


def pyside6_dir() -> Path | None:
    spec = importlib.util.find_spec("PySide6")  # locates without importing (which would load Qt)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def ldd(path: Path) -> str:
    return subprocess.run(["ldd", str(path)], capture_output=True, text=True, check=False).stdout


def advice(lacking: list[str]) -> tuple[list[str], list[str]]:
    """(packages to install, what to tell the user) for the sonames the plugins lack."""
    packages, unknown = packages_for(lacking)
    lines = [f"asgiscope: Qt's plugins cannot load, this system lacks {', '.join(lacking)}"]
    lines += [
        f"asgiscope: no package is known for {soname} (scripts/qt_libs.py's TABLE): install the one that "
        f"ships it (Debian: apt-file search {soname})"
        for soname in unknown
    ]
    return packages, lines


def main() -> int:
    pyside = pyside6_dir()
    if pyside is None:
        print("asgiscope: PySide6 is not installed, cannot check Qt's system libraries", file=sys.stderr)
        return 2
    plugins = [pyside / rel for rel in PLUGINS if (pyside / rel).exists()]
    try:
        lacking = sorted({name for p in plugins for name in missing(ldd(p), pyside)})
    except FileNotFoundError:
        return 2  # no ldd (not glibc): nothing we can check
    if not lacking:
        return 0
    packages, lines = advice(lacking)
    print("\n".join(lines), file=sys.stderr)
    print(" ".join(packages))
    return 1


if __name__ == "__main__":
    sys.exit(main())
