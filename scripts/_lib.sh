# Helpers shared by scripts/demo and scripts/test; sourced, not run.
# shellcheck shell=bash

# Print "X.Y.Z" for a working interpreter that can make venvs, or fail quietly.
# (A pyenv shim for a version that is not selected exits non-zero: skipped here.)
python_version() {
    "$1" -c 'import sys, venv, ensurepip; print("%d.%d.%d" % sys.version_info[:3])' \
        2>/dev/null
}

# Every interpreter on this machine worth trying: pyenv's CPython builds, by their
# real path, then the usual names on PATH.
python_candidates() {
    if command -v pyenv >/dev/null 2>&1; then
        local version
        while read -r version; do
            if [[ $version =~ ^3\.[0-9]+\.[0-9]+$ ]]; then
                echo "$(pyenv prefix "$version")/bin/python3"
            fi
        done < <(pyenv versions --bare 2>/dev/null)
    fi
    local name
    for name in python3.15 python3.14 python3.13 python3.12 python3.11 python3; do
        command -v "$name" 2>/dev/null || true
    done
}

# version_ge A B: succeed if version A >= version B (e.g. 3.12.1 >= 3.12).
version_ge() {
    [[ $(printf '%s\n' "$1" "$2" | sort -V | head -n1) == "$2" ]]
}

# find_python MIN [BELOW]: print the path of the newest interpreter whose version
# is >= MIN (and < BELOW if given), e.g. `find_python 3.12` or `find_python 3.11 3.12`.
# Prints nothing and fails if there is none.
find_python() {
    local min=$1 below=${2:-} best="" best_version="" candidate version
    while read -r candidate; do
        [[ -x $candidate ]] || continue
        version=$(python_version "$candidate") || continue
        version_ge "$version" "$min" || continue
        if [[ -n $below ]] && version_ge "$version" "$below"; then
            continue
        fi
        if [[ -z $best_version ]] || ! version_ge "$best_version" "$version"; then
            best=$candidate
            best_version=$version
        fi
    done < <(python_candidates)
    [[ -n $best ]] || return 1
    echo "$best"
}

# ensure_venv DIR PYTHON REQUIREMENT...: make DIR a venv of PYTHON with
# `pip install REQUIREMENT...` in it. Skipped when DIR already holds exactly that:
# a stamp records the interpreter, the requirements and pyproject.toml's hash.
ensure_venv() {
    local dir=$1 python=$2
    shift 2
    local stamp_file="$dir/.installed-stamp" stamp
    stamp=$(
        echo "python: $python $(python_version "$python")"
        echo "requirements: $*"
        echo "pyproject: $(sha256sum pyproject.toml | cut -d' ' -f1)"
    )
    if [[ -x $dir/bin/python && -f $stamp_file && $(cat "$stamp_file") == "$stamp" ]]; then
        echo "==> $dir is up to date"
        return 0
    fi
    echo "==> Creating $dir with $("$python" --version 2>&1) ($python)"
    rm -rf "$dir"
    mkdir -p "$(dirname "$dir")"
    "$python" -m venv "$dir"
    # pip's log is shown only when it fails: this machine's pip configuration makes
    # it print a warning per package otherwise.
    if ! "$dir/bin/python" -m pip install --quiet "$@" >"$dir/pip-install.log" 2>&1; then
        cat "$dir/pip-install.log" >&2
        echo "error: pip install failed in $dir (log: $dir/pip-install.log)" >&2
        return 1
    fi
    echo "$stamp" >"$stamp_file"
}
