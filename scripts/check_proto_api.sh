#!/usr/bin/env bash
# The v1 API's conventions and compatibility, with buf (installed by setup.sh):
#   check_proto_api.sh lint       buf lint over protos/ (protos/buf.yaml; the
#                                 findings not followed are listed there, with
#                                 reasons in docs/api_conventions.md)
#   check_proto_api.sh breaking   buf breaking: protos/ against the v1 as released
#                                 (protos/released/v1), then a self-check that a
#                                 removed field is reported, so the check cannot
#                                 pass vacuously.
# A missing buf fails (run scripts/setup.sh); nothing is skipped.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
buf=${EBSP_BUF:-${EBSP_TOOLS_DIR:-$root/.cache/tools}/node_modules/.bin/buf}
if [[ ! -x "$buf" ]]; then
  echo "check_proto_api: buf not found at $buf; run scripts/setup.sh (npm @bufbuild/buf)" >&2
  exit 1
fi
export BUF_CACHE_DIR=${BUF_CACHE_DIR:-${TMPDIR:-/tmp}/ebsp-buf-cache-$(id -u)}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$root/protos"
case "${1:-}" in
  lint)
    "$buf" lint
    echo "buf lint: no findings beyond those recorded in protos/buf.yaml"
    ;;
  breaking)
    # The baseline is copied out: buf refuses an input inside the module.
    cp -r released/v1 "$tmp/released"
    "$buf" breaking . --against "$tmp/released"
    echo "buf breaking: elasticbsp.v1 is compatible with protos/released/v1"
    # Self-check: drop a released field from a copy; buf must report it.
    mkdir "$tmp/broken"
    cp buf.yaml "$tmp/broken/"
    cp -r elasticbsp "$tmp/broken/"
    proto="$tmp/broken/elasticbsp/v1/coordinator.proto"
    grep -q '^  uint64 worker_id = 1;' "$proto"
    sed -i '0,/^  uint64 worker_id = 1;/s//  reserved 1;/' "$proto"
    if "$buf" breaking "$tmp/broken" --against "$tmp/released" >"$tmp/out" 2>&1; then
      echo "check_proto_api: a removed field went unreported; the check is broken" >&2
      exit 1
    fi
    grep -q 'FIELD_NO_DELETE\|deleted' "$tmp/out" || { cat "$tmp/out" >&2; exit 1; }
    echo "buf breaking: self-check ok (a removed field is reported: $(head -1 "$tmp/out"))"
    ;;
  *)
    echo "usage: check_proto_api.sh lint|breaking" >&2
    exit 2
    ;;
esac
