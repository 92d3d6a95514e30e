#!/usr/bin/env bash
# Fails when a tracked C++ or proto file differs from what clang-format
# (.clang-format: Google style, 100 columns) makes of it. Prints the files.
# Fix with: git ls-files '*.h' '*.cc' '*.proto' | xargs clang-format -i
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
clang_format=${CLANG_FORMAT:-clang-format}
command -v "$clang_format" >/dev/null || { echo "check_format: $clang_format not found (scripts/setup.sh installs it)"; exit 1; }
mapfile -t files < <(git ls-files '*.h' '*.cc' '*.proto')
((${#files[@]})) || { echo "check_format: no files to check"; exit 1; }
bad=()
for f in "${files[@]}"; do
  if ! "$clang_format" --dry-run -Werror "$f" >/dev/null 2>&1; then bad+=("$f"); fi
done
if ((${#bad[@]})); then
  echo "check_format: ${#bad[@]} of ${#files[@]} files are not clang-formatted:"
  printf '  %s\n' "${bad[@]}"
  exit 1
fi
echo "check_format: ${#files[@]} files clang-formatted"
