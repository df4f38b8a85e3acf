// Startup benchmark: median wall time of `--help` and `version`, for the npm install (bin/ on this
// machine's node) against `node -e 0`, and for the standalone executable (npm run package) against
// the same Node binary it embeds running `-e 0`, all measured in this run, printed as ratios
// (target: <= 1.5x each baseline). Informational: it prints OK/OVER, it does not fail a build.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PLATFORMS, SEA_NODE_VERSION, hostPlatform, seaNodeDir } from './platforms.js';

const TARGET = 1.5;
const runs = Number(process.env.BENCH_RUNS ?? 21);
const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'bin/kubectl-insight.js');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

function once([cmd, ...args]: string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd!, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${String(r.stderr)}`);
  return ms;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Runs a group of cases interleaved (a noisy neighbour hits them alike); prints ratios to the first. */
function group(title: string, cases: [string, string[]][]): void {
  const samples = new Map<string, number[]>(cases.map(([name]) => [name, []]));
  for (const c of cases) once(c[1]); // warm the file cache
  for (let i = 0; i < runs; i++) for (const [name, argv] of cases) samples.get(name)!.push(once(argv));
  const first = cases[0]![0];
  const base = median(samples.get(first)!);
  let worst = 0;
  console.log(title);
  for (const [name] of cases) {
    const m = median(samples.get(name)!);
    const ratio = m / base;
    if (name !== first) worst = Math.max(worst, ratio);
    console.log(`  ${name.padEnd(34)} median ${m.toFixed(1).padStart(7)} ms   ratio ${ratio.toFixed(2)}x`);
  }
  console.log(`  worst ratio ${worst.toFixed(2)}x (target <= ${TARGET.toFixed(2)}x) over ${runs} runs: ${worst <= TARGET ? 'OK' : 'OVER TARGET'}`);
}

group('npm install (node on PATH)', [
  ['node -e 0', [process.execPath, '-e', '0']],
  ['kubectl-insight --help', [process.execPath, bin, '--help']],
  ['kubectl-insight version', [process.execPath, bin, 'version']],
]);

const host = PLATFORMS.find((p) => p.id === hostPlatform())!;
const archive = join(root, 'dist-package', `kubectl-insight-v${pkg.version}-${host.id}.tar.gz`);
const node = join(seaNodeDir(host), host.nodeFile);
if (!existsSync(archive) || !existsSync(node)) {
  console.log(`standalone executable: not built (run npm run package), no ratio`);
} else {
  const dir = mkdtempSync(join(tmpdir(), 'insight-bench-'));
  try {
    execFileSync('tar', ['xzf', archive, '-C', dir]);
    const exe = join(dir, host.bin);
    group(`standalone executable (${host.id}, Node ${SEA_NODE_VERSION})`, [
      ['its node -e 0', [node, '-e', '0']],
      ['kubectl-insight --help', [exe, '--help']],
      ['kubectl-insight version', [exe, 'version']],
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
