# Sourced by scripts/app and scripts/test: finds a Python >= 3.12, makes .venv, installs the project
# into it when pyproject.toml changed since the last install, and installs the system libraries Qt's
# plugins lack when we may (root; otherwise prints the command). Idempotent: a second run costs a few
# milliseconds.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
STAMP="$VENV/.asgiscope-installed"  # line 1: pyproject.toml checksum, line 2: the Qt check
QT_LIBS_OK="qt-libs: ok"

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
    # What Qt's plugins lack on this machine, found by ldd (scripts/qt_libs.py): installed with apt-get
    # when we are root, otherwise the one command to run is printed. Remembered in the stamp once all is
    # there, so this costs nothing on later runs. QT_LIBS_MISSING tells scripts/app not to start Qt.
    QT_LIBS_MISSING=""
    [[ "$OSTYPE" == linux* ]] || return 0
    local installed="" checked=""
    { IFS= read -r installed && IFS= read -r checked; } < "$STAMP" || true
    [ "$installed" = "$WANT" ] && [ "$checked" = "$QT_LIBS_OK" ] && return 0
    local packages rc=0
    packages="$("$VENV/bin/python" "$ROOT/scripts/qt_libs.py")" || rc=$?
    if [ "$rc" = "1" ] && [ -n "$packages" ] && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        echo "asgiscope: installing $packages" >&2
        apt-get update -qq >&2
        # shellcheck disable=SC2086  # one word per package
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $packages >&2
        rc=0
        packages="$("$VENV/bin/python" "$ROOT/scripts/qt_libs.py")" || rc=$?
    fi
    case "$rc" in
        0) printf '%s\n%s\n' "$WANT" "$QT_LIBS_OK" > "$STAMP" ;;
        1)
            QT_LIBS_MISSING=1
            if [ -n "$packages" ]; then
                echo "asgiscope: to install them (Debian/Ubuntu), run:" >&2
                echo "  sudo apt-get install $packages" >&2
            fi
            ;;
        *) ;;  # could not tell (no ldd): let Qt speak for itself
    esac
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
INSTALLED=""
[ -f "$STAMP" ] && IFS= read -r INSTALLED < "$STAMP"
if [ "$INSTALLED" != "$WANT" ]; then
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
