#!/usr/bin/env bash
# Runs a command with the test bed's helm 3 or helm 4 first on PATH as plain `helm`:
#   bash scripts/with-helm.sh 3 npm run demo
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/test/cluster/versions.env"
cache=${KUBECTL_INSIGHT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubectl-insight}
case "${1:-}" in
  3) v=$HELM3_VERSION ;;
  4) v=$HELM4_VERSION ;;
  *) echo "usage: with-helm.sh 3|4 COMMAND..." >&2; exit 2 ;;
esac
shift
dir="$cache/helm-$v"
[ -x "$dir/helm" ] || { echo "with-helm: $dir/helm missing: run npm run setup" >&2; exit 1; }
PATH="$dir:$PATH" exec "$@"
