#!/bin/sh
# Idempotent set-up on Debian 12: ngspice (shared library + headers) from Debian, a venv in
# .venv, and cimspice installed into it with its test extras. A second run only checks.
set -eu
cd "$(dirname "$0")/.."

missing=""
for package in ngspice libngspice0 libngspice0-dev; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing="$missing $package"
done
if [ -n "$missing" ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "setup: installing$missing from Debian" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing >/dev/null
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
# Reinstall only when the declared dependencies change.
stamp=.venv/.cimspice-setup
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ] || ! .venv/bin/python -c "import cimspice" 2>/dev/null; then
    echo "setup: installing cimspice and its dependencies into .venv" >&2
    .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
    echo "$want" > "$stamp"
fi
