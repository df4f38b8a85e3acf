// Startup benchmark: median wall time of `kubectl-insight --help`, `kubectl-insight version` and the
// baseline `node -e 0`, measured in the same run, and their ratios (target: <= 2.0x the baseline).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const runs = Number(process.env.BENCH_RUNS ?? 21);
const bin = fileURLToPath(new URL('../bin/kubectl-insight.js', import.meta.url));
const cases = [
  ['node -e 0', [process.execPath, '-e', '0']],
  ['kubectl-insight --help', [process.execPath, bin, '--help']],
  ['kubectl-insight version', [process.execPath, bin, 'version']],
];

function once([cmd, ...args]) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const samples = new Map(cases.map(([name]) => [name, []]));
for (const c of cases) once(c[1]); // warm the file cache
// Interleave the cases so a noisy neighbour affects all of them alike.
for (let i = 0; i < runs; i++) for (const [name, argv] of cases) samples.get(name).push(once(argv));

const base = median(samples.get('node -e 0'));
let worst = 0;
for (const [name] of cases) {
  const m = median(samples.get(name));
  const ratio = m / base;
  if (name !== 'node -e 0') worst = Math.max(worst, ratio);
  console.log(`${name.padEnd(26)} median ${m.toFixed(1).padStart(7)} ms   ratio ${ratio.toFixed(2)}x`);
}
console.log(`worst ratio ${worst.toFixed(2)}x (target <= 2.00x) over ${runs} runs: ${worst <= 2 ? 'OK' : 'OVER TARGET'}`);
