#!/usr/bin/env bash
# Fails when nbdev_export changes anything under upit_ext/: the notebooks are the source of truth.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cp -r upit_ext "$tmp/before"
.venv/bin/nbdev_export
if ! diff -r -x __pycache__ "$tmp/before" upit_ext; then
  echo "nbdev_export changed upit_ext/: notebooks and library are out of sync (export the notebooks and commit)."
  exit 1
fi
echo "notebooks and library in sync"
.venv/bin/python tools/make_readme.py --check
