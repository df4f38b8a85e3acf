#!/usr/bin/env node
// kubectl finds this as the plugin `kubectl insight` (an executable named kubectl-insight on PATH).
import { main } from '../dist/cli.js';

await main(new URL('..', import.meta.url).pathname);
