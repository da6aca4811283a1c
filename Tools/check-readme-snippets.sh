#!/usr/bin/env bash
# The README's kernel snippet (its Swift block that starts with `import RankKernels`)
# must be, line for line, the code Examples/main.swift compiles and runs between
# "// README begin" and "// README end"; CI runs this, then the example.
set -euo pipefail
cd "$(dirname "$0")/.."
readme=$(awk '/^```swift$/ { inside = 1; block = ""; next }
              /^```$/ && inside { inside = 0; if (block ~ /^import RankKernels\n/) { printf "%s", block; exit } ; next }
              inside { block = block $0 "\n" }' README.md | tail -n +3)
example=$(awk '/\/\/ README begin/ { inside = 1; next } /\/\/ README end/ { inside = 0 } inside' Examples/main.swift)
if [ -z "$readme" ] || [ "$readme" != "$example" ]; then
  echo "check-readme-snippets: README.md's kernel snippet and Examples/main.swift differ:" >&2
  diff <(echo "$readme") <(echo "$example") >&2 || true
  exit 1
fi
echo "check-readme-snippets: README.md's kernel snippet is Examples/main.swift's ($(echo "$readme" | wc -l) lines)"
