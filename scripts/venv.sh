# Sourced by demo.sh and test.sh: create a venv and install into it only when something changed.
#   ensure_venv DIR PIP-INSTALL-ARGUMENTS...
# Each install is recorded in a stamp file in DIR, keyed on pyproject.toml, the arguments and the Python;
# the project is installed editable (-e), so edits to its source need no reinstall.
ensure_venv() {
    local dir=$1
    shift
    local key stamp
    key="$({ cat pyproject.toml; echo "$*"; "$PYTHON" -VV; } | sha256sum | cut -d' ' -f1)"
    stamp="$dir/.mnist-edge-install-$(echo "$*" | sha256sum | cut -c1-8)"
    if [ -x "$dir/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$key" ]; then
        return 0
    fi
    [ -x "$dir/bin/python" ] || "$PYTHON" -m venv "$dir"
    echo "${0##*/}: installing into $dir: $* (the first time downloads and installs packages: minutes; later runs skip this)" >&2
    # pip's own progress, one line per package, instead of minutes of silence
    "$dir/bin/python" -m pip install --progress-bar off "$@" 2>&1 \
        | sed -un 's/^\(Collecting\|Installing collected\|Successfully installed\|ERROR\)/  \1/p' >&2
    echo "$key" > "$stamp"
}
