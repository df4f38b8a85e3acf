#!/usr/bin/env bash
# Builds the self-contained plugin archive (bin/, dist/, package.json: every dependency is bundled,
# so no node_modules) and renders the krew manifest for it.
# Usage: scripts/package.sh [URI-of-the-published-archive]
set -euo pipefail
cd "$(dirname "$0")/.."
npm run build --silent
version=$(node -p "require('./package.json').version")
out=dist-package
rm -rf "$out" && mkdir -p "$out/stage/kubectl-insight"
cp -r bin dist package.json README.md "$out/stage/kubectl-insight/"
# krew runs the file named in `bin` directly; it must be executable and find node on PATH.
printf '#!/bin/sh\nexec node "$(dirname "$(readlink -f "$0")")/bin/kubectl-insight.js" "$@"\n' > "$out/stage/kubectl-insight/kubectl-insight"
chmod +x "$out/stage/kubectl-insight/kubectl-insight"
tar -C "$out/stage" -czf "$out/kubectl-insight-v$version.tar.gz" kubectl-insight
rm -rf "$out/stage"
sha=$(sha256sum "$out/kubectl-insight-v$version.tar.gz" | cut -d' ' -f1)
uri=${1:-https://example.invalid/kubectl-insight-v$version.tar.gz}
VERSION=$version SHA256=$sha URI=$uri HOMEPAGE=${HOMEPAGE:-https://example.invalid/kubectl-insight} \
  envsubst '${VERSION} ${SHA256} ${URI} ${HOMEPAGE}' < deploy/krew/insight.yaml.tmpl > "$out/insight.yaml"
echo "$out/kubectl-insight-v$version.tar.gz"
echo "$out/insight.yaml"
