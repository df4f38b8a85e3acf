// The one way e2e tests run the built plugin: from a private copy of the build, without a TTY (cli,
// spawnCli) or on a pseudo-terminal (cliOnTty), against the e2e cluster unless told otherwise.
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { cluster, waitFor, type RunResult } from './cluster.js';

export const repoRoot = resolve(import.meta.dirname, '../../..');
/** The CLI as built in the repo; tests run a private copy of it (cliPath). */
export const CLI = join(repoRoot, 'bin/kubectl-insight.js');

let privateDir: string | undefined;

/**
 * A copy of the build: these files run for minutes, and a teammate's `npm run build` empties dist/
 * meanwhile (the bundle needs no node_modules). Waits a while for a build that is being written.
 */
function copyBuild(): string {
  for (let i = 0; i < 50 && !existsSync(join(repoRoot, 'dist/cli.js')); i++) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
  const dir = mkdtempSync(join(tmpdir(), 'insight-build-'));
  for (const f of ['bin', 'dist', 'package.json', 'oclif.manifest.json']) {
    if (f !== 'oclif.manifest.json' || existsSync(join(repoRoot, f))) cpSync(join(repoRoot, f), join(dir, f), { recursive: true });
  }
  made.add(dir);
  return dir;
}

/** The private copy's bin script, made on first use (once per test file). */
export function cliPath(): string {
  privateDir ??= copyBuild();
  return join(privateDir, 'bin/kubectl-insight.js');
}

// Copies left by files that never call dropPrivateBuild go when the worker exits (one listener per
// process, however many test files import this module).
const made: Set<string> = ((globalThis as { __insightBuilds?: Set<string> }).__insightBuilds ??= (() => {
  const s = new Set<string>();
  process.once('exit', () => {
    for (const d of s) rmSync(d, { recursive: true, force: true });
  });
  return s;
})());

/**
 * Make the private copy now and check it with a dry run (retrying while dist/ is being rebuilt), for
 * files whose first CLI run must not be the one that finds a half-written build.
 */
export async function usePrivateBuild(): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    dropPrivateBuild();
    try {
      privateDir = copyBuild();
      const r = await cli(['uninstall', '--dry-run', '-n', 'uninst-probe', '--release', 'none', '-o', 'json']);
      if (r.exitCode === 0 && JSON.parse(r.stdout).result === 'planned') return;
      throw new Error(r.stderr || r.stdout);
    } catch (e) {
      dropPrivateBuild();
      if (attempt >= 10) throw new Error(`no usable build in dist/ (run npm run build): ${String(e)}`);
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
}

export function dropPrivateBuild(): void {
  if (privateDir) rmSync(privateDir, { recursive: true, force: true });
  if (privateDir) made.delete(privateDir);
  privateDir = undefined;
}

export interface CliRun extends RunResult {
  signal?: string;
  ms: number;
}

export interface CliOptions {
  /** Added to the environment; an undefined value unsets the key. */
  env?: Record<string, string | undefined>;
  /** Default: the e2e cluster's. */
  kubeconfig?: string;
  /** Text on stdin; without it stdin is closed (not a terminal). */
  input?: string;
  timeoutMs?: number;
  /** false: the CLI sees only `env`, PATH and KUBECONFIG (nothing inherited, e.g. no secret in the environment). */
  extendEnv?: boolean;
  /** Working directory (default: this process's), for commands that write files there. */
  cwd?: string;
}

/**
 * Unless a test points them at a stand-in, every Alibaba Cloud host goes to a closed loopback port:
 * no test reaches the real cloud, even one that forgets its overrides.
 */
export const NO_CLOUD = JSON.stringify({ '*.aliyuncs.com': { address: '127.0.0.1', port: 9 } });

/** The environment every run gets: no colour, and not vitest's NODE_ENV=test (oclif would look for TypeScript sources). */
function cliEnv(opts: { env?: Record<string, string | undefined>; kubeconfig?: string }): Record<string, string | undefined> {
  return { KUBECONFIG: opts.kubeconfig ?? cluster().kubeconfig, PATH: process.env.PATH, NO_COLOR: '1', NODE_ENV: undefined, KUBECTL_INSIGHT_ENDPOINT_OVERRIDES: NO_CLOUD, ...opts.env };
}

/** Run the built CLI to the end (no TTY). Never throws on a non-zero exit. */
export async function cli(args: string[], opts: CliOptions = {}): Promise<CliRun> {
  const t0 = Date.now();
  const r = await execa(process.execPath, [cliPath(), ...args], {
    reject: false,
    timeout: opts.timeoutMs ?? 240_000,
    // CI=1: plain progress lines, whatever the outer environment says.
    env: cliEnv({ ...opts, env: { CI: '1', ...opts.env } }),
    extendEnv: opts.extendEnv ?? true,
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
    ...(opts.input !== undefined ? { input: opts.input } : { stdin: 'ignore' as const }),
  });
  return { stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? ''), exitCode: r.exitCode ?? -1, ...(r.signal ? { signal: r.signal } : {}), ms: Date.now() - t0 };
}

/** Run the CLI on a pseudo-terminal (util-linux `script`), typing `input`. */
export async function cliOnTty(args: string[], input: string): Promise<CliRun> {
  const quote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
  const cmd = [process.execPath, cliPath(), ...args].map(quote).join(' ');
  const t0 = Date.now();
  const r = await execa('script', ['-qec', cmd, '/dev/null'], {
    reject: false,
    timeout: 120_000,
    input,
    env: cliEnv({}),
    extendEnv: true,
  });
  return { stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? ''), exitCode: r.exitCode ?? -1, ms: Date.now() - t0 };
}

/** Start the CLI without waiting (signals, SIGSTOP/outage scenarios); stdin closed. */
export function spawnCli(args: string[], opts: Omit<CliOptions, 'input'> = {}): ResultPromise<{ reject: false }> {
  return execa(process.execPath, [cliPath(), ...args], {
    reject: false,
    timeout: opts.timeoutMs ?? 240_000,
    env: cliEnv({ ...opts, env: { CI: '1', ...opts.env } }),
    extendEnv: opts.extendEnv ?? true,
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
    stdin: 'ignore',
  }) as ResultPromise<{ reject: false }>;
}

export function parseJson<T = any>(r: RunResult): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`not JSON (exit ${r.exitCode}): ${r.stdout.slice(0, 400)} ${r.stderr.slice(0, 400)}`);
  }
}

/** Linux process state letter (R, S, T = stopped, Z) or undefined when gone. */
export function procState(pid: number): string | undefined {
  try {
    return /^\d+ \(.*\) (\w)/.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

/** Wait until a process has exited (a zombie counts: it runs no more). */
export async function processGone(pid: number, timeoutMs = 90_000): Promise<void> {
  await waitFor(`process ${pid} gone`, () => {
    const s = procState(pid);
    return s === undefined || s === 'Z';
  }, { timeoutMs, intervalMs: 100 });
}
