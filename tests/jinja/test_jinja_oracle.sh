#!/usr/bin/env bash
# The Jinja interpreter and the model chat templates against python3-jinja2: renders the snippet
# cases (tests/jinja/jinja_cases.json) and every chat template (the real ones of the npm tokenizer
# packages, and tests/data/chat_templates) x every conversation (tests/data/chat_conversations.json)
# with jinja2 in transformers' environment, then runs the JinjaOracle test on the same rows.
#   test_jinja_oracle.sh TEST_JINJA_BINARY            snippets and tests/data/chat_templates
#   test_jinja_oracle.sh TEST_JINJA_BINARY families   the real templates (skipped, exit 77, without npm)
set -uo pipefail
TEST_JINJA=${1:?usage: test_jinja_oracle.sh TEST_JINJA_BINARY}
HERE=$(cd "$(dirname "$0")" && pwd)
DATA=$HERE/../data
# python3-jinja2 is Debian's (scripts/install-deps.sh); a python3 earlier on PATH may lack it.
PY=python3
python3 -c 'import jinja2' 2> /dev/null || PY=/usr/bin/python3
if ! $PY -c 'import jinja2' 2> /dev/null; then
  echo "FAIL: python3-jinja2 is missing (scripts/install-deps.sh installs it)" >&2
  exit 1
fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
args=(--conversations "$DATA/chat_conversations.json")
if [[ ${2:-} == families ]]; then
  source "$HERE/../support/fetch_tokenizers.sh"
  for family in deepseek_v3 gemma3 llama3_1 qwen3; do args+=(--model "$family=$CACHE/$family"); done
else
  args+=(--cases "$HERE/jinja_cases.json")
  for dir in "$DATA"/chat_templates/*/; do args+=(--model "$(basename "$dir")=$dir"); done
fi
$PY "$HERE/render_oracle.py" "$WORK/oracle.json" "${args[@]}" || exit 1
HIFP8_JINJA_ORACLE=$WORK/oracle.json "$TEST_JINJA" --gtest_filter='JinjaOracle.*'
