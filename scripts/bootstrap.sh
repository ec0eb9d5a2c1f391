# Sourced by scripts/app and scripts/test: finds a Python >= 3.12, makes .venv, installs the project
# into it when pyproject.toml changed since the last install, and installs Qt's system libraries when
# they are missing and we may (root). Idempotent: a second run costs a few milliseconds.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
STAMP="$VENV/.asgiscope-installed"

find_python() {
    local cand
    local -a cands=()
    [ -n "${ASGISCOPE_PYTHON:-}" ] && cands+=("$ASGISCOPE_PYTHON")
    cands+=(python3.14 python3.13 python3.12)
    if command -v pyenv >/dev/null 2>&1; then
        # pyenv installs are not on PATH unless selected: ask pyenv where they are.
        for v in $(pyenv versions --bare 2>/dev/null | grep -E '^3\.(1[2-9])' | sort -rV); do
            cands+=("$(pyenv prefix "$v" 2>/dev/null)/bin/python3")
        done
    fi
    cands+=(python3 python)
    for cand in "${cands[@]}"; do
        if command -v "$cand" >/dev/null 2>&1 &&
            "$cand" -c 'import sys, venv; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; then
            command -v "$cand"
            return 0
        fi
    done
    return 1
}

ensure_system_libs() {
    # Qt (even offscreen) needs these shared libraries; a fresh Debian/Ubuntu may lack them.
    [ "$(uname -s)" = "Linux" ] || return 0
    command -v ldconfig >/dev/null 2>&1 || return 0
    local missing=() lib
    for lib in libEGL.so.1 libGL.so.1 libxkbcommon.so.0 libfontconfig.so.1 libdbus-1.so.3 libglib-2.0.so.0; do
        ldconfig -p 2>/dev/null | grep -q "$lib" || missing+=("$lib")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        echo "asgiscope: installing Qt system libraries (missing: ${missing[*]})" >&2
        apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libegl1 libgl1 libx11-6 libxkbcommon0 \
            libxkbcommon-x11-0 libfontconfig1 libfreetype6 libglib2.0-0 libdbus-1-3 libxcb-cursor0 \
            libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 \
            libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 >&2
    else
        echo "asgiscope: Qt needs system libraries that are missing (${missing[*]})." >&2
        echo "  On Debian/Ubuntu: sudo apt-get install libegl1 libgl1 libxkbcommon0 libfontconfig1 libdbus-1-3 libglib2.0-0 libxcb-cursor0" >&2
    fi
}

if [ ! -x "$VENV/bin/python" ]; then
    PY="$(find_python)" || {
        echo "asgiscope: needs Python >= 3.12 (PySide6 6.12 corrupts None's refcount on 3.11)." >&2
        echo "  Install one (e.g. 'pyenv install 3.13') or point ASGISCOPE_PYTHON at it." >&2
        exit 1
    }
    echo "asgiscope: creating $VENV with $PY" >&2
    "$PY" -m venv "$VENV"
fi

WANT="$(cat "$ROOT/pyproject.toml" | cksum)"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
    echo "asgiscope: installing dependencies into .venv (first run takes a minute)" >&2
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e "$ROOT[test]" >&2
    echo "$WANT" > "$STAMP"
fi

typecheck_tree() {
    # mypy and import-linter cannot follow setuptools' editable-install finder, and import-linter does not
    # walk symlinked folders: give them a fresh copy of the package as installed (pyproject.toml's
    # package-dir, spelled out). Errors name build/typecheck/asgiscope/<folder>/..., i.e. <folder>/...
    local tree="$ROOT/build/typecheck/asgiscope"
    rm -rf "$tree"
    mkdir -p "$tree"
    cp "$ROOT"/scripts/asgiscope/*.py "$tree/"
    local part
    for part in server gui assets; do
        cp -R "$ROOT/$part" "$tree/$part"
    done
    find "$tree" -name __pycache__ -prune -exec rm -rf {} +
}

ensure_system_libs
export QT_API=pyside6 PYQTGRAPH_QT_LIB=PySide6
