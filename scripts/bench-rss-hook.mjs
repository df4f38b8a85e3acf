// Loaded with `node --import` by bench-doctor.ts: writes the process's peak RSS (KiB) to
// $INSIGHT_BENCH_RSS_FILE at exit, so the bench measures doctor itself and not a wrapper.
import { writeFileSync } from 'node:fs';

const file = process.env.INSIGHT_BENCH_RSS_FILE;
if (file) process.on('exit', () => writeFileSync(file, String(process.resourceUsage().maxRSS)));
