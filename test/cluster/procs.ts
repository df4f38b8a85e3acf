// Process plumbing for the local test cluster: detached daemons with log files, free ports,
// and killing exactly the processes a state file names.
import { spawn, execFile } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export interface ProcRecord {
  /** Component name (etcd, kube-apiserver, …). */
  name: string;
  pid: number;
  /** The executable as started, so we never kill a recycled pid that now belongs to something else. */
  exe: string;
  log: string;
}

/** Starts a daemon that outlives this process (cluster:up exits while the cluster keeps running). */
export function startDaemon(name: string, exe: string, args: string[], log: string, env?: NodeJS.ProcessEnv): ProcRecord {
  const fd = openSync(log, 'a');
  try {
    const child = spawn(exe, args, { detached: true, stdio: ['ignore', fd, fd], env: env ?? process.env });
    if (child.pid === undefined) throw new Error(`could not start ${name} (${exe})`);
    child.unref();
    return { name, pid: child.pid, exe, log };
  } finally {
    closeSync(fd);
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A daemon whose starter already exited is reaped by init whenever it gets to it: a zombie is dead.
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** The process still runs the executable we started (pids get reused after a reboot or a long time). */
function isOurs(p: ProcRecord): boolean {
  try {
    const argv0 = readFileSync(`/proc/${p.pid}/cmdline`, 'utf8').split('\0')[0] ?? '';
    const base = (s: string) => s.slice(s.lastIndexOf('/') + 1);
    return argv0 === p.exe || base(argv0) === base(p.exe);
  } catch {
    return false;
  }
}

/** SIGTERM, then SIGKILL after graceMs. Resolves when the process is gone. */
export async function stopProcess(p: ProcRecord, graceMs = 5000): Promise<void> {
  if (!isAlive(p.pid) || !isOurs(p)) return;
  try {
    process.kill(p.pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (isAlive(p.pid) && Date.now() < deadline) await sleep(50);
  if (isAlive(p.pid)) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
    while (isAlive(p.pid)) await sleep(20);
  }
}

/** A free TCP port on 127.0.0.1 (asked from the kernel; a tiny race with other starters is possible). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export async function run(cmd: string, args: string[], opts: { input?: string; allowFail?: boolean } = {}): Promise<{ stdout: string; stderr: string; code: number }> {
  if (opts.input !== undefined) {
    return new Promise((resolve, reject) => {
      const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => {
        if (code !== 0 && !opts.allowFail) reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${stderr.trim()}`));
        else resolve({ stdout, stderr, code: code ?? 1 });
      });
      child.stdin.end(opts.input);
    });
  }
  try {
    const { stdout, stderr } = await execFileP(cmd, args, { maxBuffer: 64 * 1024 * 1024 });
    return { stdout, stderr, code: 0 };
  } catch (e) {
    const err = e as { code?: number | string; stdout?: string; stderr?: string };
    if (opts.allowFail) return { stdout: err.stdout ?? '', stderr: err.stderr ?? String(e), code: typeof err.code === 'number' ? err.code : 1 };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${(err.stderr ?? String(e)).trim()}`);
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls until fn returns a value other than undefined/false, or throws with the last error after timeoutMs. */
export async function until<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs: number, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- the last caught value, whatever was thrown, as String() shows it
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await sleep(everyMs);
  }
}

/** Resident memory of the given pids, in MiB. */
export function rssMiB(pids: number[]): number {
  let kb = 0;
  for (const pid of pids) {
    try {
      const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m?.[1]) kb += Number(m[1]);
    } catch {
      /* gone */
    }
  }
  return Math.round(kb / 1024);
}
