#!/usr/bin/env bash
# Regenerate the checked-in files that tests compare against generated output:
# docs/tools.md (from the tool registry) and the chat-format golden files.
# Run after changing configs/tools/default.yaml or a chat format, then review `git diff`.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m dnd_ft.tools docs --out docs/tools.md
DND_FT_UPDATE_GOLDEN=1 python -m pytest tests/data -q -k golden
git status --short docs/tools.md tests/fixtures/data/golden
