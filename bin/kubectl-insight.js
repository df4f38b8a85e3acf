#!/usr/bin/env node
// kubectl finds this as the plugin `kubectl insight` (an executable named kubectl-insight on PATH).
// `version` and the top-level help are answered without loading the CLI (src/fast-start.ts).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startFast } from '../dist/fast-start.js';

const root = new URL('..', import.meta.url);
const help = () => {
  try {
    return readFileSync(new URL('dist/help.txt', root), 'utf8');
  } catch {
    return undefined;
  }
};
if (!startFast(process.argv.slice(2), help)) {
  const { main } = await import('../dist/cli.js');
  await main(fileURLToPath(root));
}
