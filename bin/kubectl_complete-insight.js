#!/usr/bin/env node
// kubectl (>= 1.26) completes `kubectl insight <TAB>` by running kubectl_complete-insight from PATH with
// the words after `insight`, the last being the word under the cursor: this is the plugin's `__complete`.
// The `--` keeps the words from oclif, which would answer a `--help` among them with the help text.
import { fileURLToPath } from 'node:url';
import { main } from '../dist/cli.js';

await main(fileURLToPath(new URL('..', import.meta.url)), ['__complete', '--', ...process.argv.slice(2)]);
