#!/usr/bin/env bash
# Refresh constraints.txt: install the newest releases the project allows into a fresh virtual
# environment, run the whole test suite there, and only if it passes rewrite constraints.txt.
#   scripts/refresh_constraints.sh            (run it monthly, or before a release; commit the diff)
set -euo pipefail
cd "$(dirname "$0")/.."
venv="$(mktemp -d)/venv"
python -m venv "$venv"
"$venv/bin/pip" install -q torch==2.14.1 torchvision==0.29.1
"$venv/bin/pip" install -q -e ".[dev,inception]"
WANDB_MODE=disabled HF_HUB_OFFLINE=1 "$venv/bin/python" -m pytest
{
  echo "# The versions the test suite was last run against (pip constraints: pins only what gets installed)."
  echo "# Used by the README's install command and by CI:  pip install -c constraints.txt -e \".[dev,inception]\""
  echo "# Refresh (e.g. monthly): scripts/refresh_constraints.sh  (fresh venv, newest releases, full test suite, rewrite)"
  echo "# Generated $(date -u +%F) with Python $("$venv/bin/python" -c 'import platform; print(platform.python_version())') on $(uname -m)."
  "$venv/bin/pip" freeze --exclude-editable
} > constraints.txt
echo "constraints.txt rewritten; review and commit the diff"
