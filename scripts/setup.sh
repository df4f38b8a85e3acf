#!/usr/bin/env bash
# One-time (idempotent) set-up for the end-to-end suite and the demo: the Debian packages the local test
# cluster uses, then the Go-built control plane, kwok, helm 3 and helm 4 (test/cluster/build.sh) and
# Node.js 22 and 24 (scripts/node-versions.sh), all cached outside the repo, so a second run takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
. test/cluster/versions.env

# openssl: cluster certificates; iproute2: the network namespace for fake nodes' IPs;
# prometheus-node-exporter: the real exporter answering on every fake node's IP.
# curl: the preflight probe script, run in test network namespaces as the probe pods run it.
packages=(openssl iproute2 prometheus-node-exporter ca-certificates curl tmux zsh fish bash-completion)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" -eq 0 ]; then sudo=(); else sudo=(sudo); fi
  echo "setup: installing ${missing[*]}" >&2
  "${sudo[@]}" apt-get update -qq
  # The package's postinst must not start a node_exporter on the host: the harness runs its own in a namespace.
  DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
command -v go >/dev/null || { echo "setup: Go 1.26 is required to build the test cluster (go not found)" >&2; exit 1; }

start=$(date +%s)
bin=$(bash test/cluster/build.sh | tail -n1)
echo "setup: test cluster binaries in $bin ($(( $(date +%s) - start ))s)" >&2

# Node.js 22 and 24 for `npm run test:node` (from the npm registry, cached beside the cluster binaries).
start=$(date +%s)
bash scripts/node-versions.sh >/dev/null
echo "setup: Node.js $NODE22_VERSION and $NODE24_VERSION ready ($(( $(date +%s) - start ))s)" >&2

# The Node binaries the standalone executables are built from (npm run package), from the npm registry.
start=$(date +%s)
npx tsx scripts/package.ts --fetch
echo "setup: Node.js $SEA_NODE_VERSION for the standalone executables ready ($(( $(date +%s) - start ))s)" >&2
