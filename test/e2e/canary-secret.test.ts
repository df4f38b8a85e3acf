// The canary: a unique AccessKey secret goes through install, upgrade and their failure paths; it
// must never show in a child's argv (a recording helm wrapper on PATH and via --helm-binary), in any
// process's command line while we run, in a child's environment, on stdout/stderr, in JSON, or in a
// file left in TMPDIR. Raw and base64 forms are both searched.
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chartTgz, cleanup, cli, cliPath, helmLabel, processGone, requiredValues, spawnCli, writeValues, type CliRun } from './support/index.js';

const NS = 'e2e-canary';
const RELEASE = 'insight-e2e-canary';
const CLUSTER_ID = 'e2e-canary-1';
const canary = (tag: string) => `Canary${tag}${randomBytes(10).toString('hex')}`;
const SECRET = canary('A');
const ROTATED = canary('B');
const ON_ARGV = canary('C');

/** Every text form the secrets could take. */
function forms(s: string): string[] {
  return [s, Buffer.from(s).toString('base64'), Buffer.from(s).toString('base64').slice(0, 20)];
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p));
    else out.push(p);
  }
  return out;
}

describe(`canary secret (${helmLabel()})`, () => {
  const outputs: Array<{ what: string; r: CliRun }> = [];
  let work: string;
  let wrapperDir: string;
  let argvLog: string;
  let envLog: string;
  let tmp: string;
  const seen: string[] = [];
  let watcher: NodeJS.Timeout | undefined;

  const run = async (what: string, args: string[], opts: { env?: Record<string, string | undefined>; input?: string } = {}) => {
    const r = await cli(args, {
      ...opts,
      env: { ...opts.env, PATH: `${wrapperDir}${delimiter}${process.env.PATH}`, TMPDIR: tmp, CANARY_ARGV_LOG: argvLog, CANARY_ENV_LOG: envLog },
    });
    outputs.push({ what, r });
    return r;
  };
  const base = () => ['--release', RELEASE, '-n', NS];

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'insight-canary-'));
    wrapperDir = join(work, 'bin');
    mkdirSync(wrapperDir);
    tmp = join(work, 'tmp');
    mkdirSync(tmp);
    argvLog = join(work, 'argv.log');
    envLog = join(work, 'env.log');
    writeFileSync(argvLog, '');
    writeFileSync(envLog, '');
    const realHelm = (await execa('sh', ['-c', 'command -v helm'])).stdout.trim();
    // The recording wrapper: one line per argument, a separator per call, the environment, then the real helm.
    writeFileSync(
      join(wrapperDir, 'helm'),
      `#!/bin/sh\nfor a in "$@"; do printf '%s\\n' "$a" >> "$CANARY_ARGV_LOG"; done\necho '--- end of call' >> "$CANARY_ARGV_LOG"\nenv >> "$CANARY_ENV_LOG"\nexec ${realHelm} "$@"\n`,
    );
    chmodSync(join(wrapperDir, 'helm'), 0o755);
    // Watch every process's command line while the tests run (ps would show the same).
    watcher = setInterval(() => {
      for (const pid of readdirSync('/proc')) {
        if (!/^\d+$/.test(pid)) continue;
        try {
          const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
          if (cmd.includes(SECRET) || cmd.includes(ROTATED)) seen.push(cmd.replace(/\0/g, ' '));
        } catch {
          // the process ended
        }
      }
    }, 25);
    await cleanup(RELEASE, NS, CLUSTER_ID);
  });

  afterAll(async () => {
    if (watcher) clearInterval(watcher);
    await cleanup(RELEASE, NS, CLUSTER_ID);
  });

  it('runs install, upgrade and their failure paths with the canary', async () => {
    const values = writeValues(requiredValues(CLUSTER_ID));
    const v100 = await chartTgz('1.0.0');
    const env = { ALIBABA_CLOUD_ACCESS_KEY_SECRET: SECRET };

    // dry runs, the secret from a values file
    const withSecret = writeValues({ ...requiredValues(CLUSTER_ID), accessKeySecret: SECRET });
    expect((await run('dry-run text', ['install', '--no-verify', ...base(), '--chart', v100, '-f', withSecret, '--dry-run'])).exitCode).toBe(0);
    expect((await run('dry-run json', ['install', '--no-verify', ...base(), '--chart', v100, '-f', withSecret, '--dry-run', '-o', 'json'])).exitCode).toBe(0);
    // validation failure with the secret from stdin
    expect((await run('bad region', ['install', '--no-verify', ...base(), '--chart', v100, '-f', values, '--region', 'cn-nowhere', '--access-key-secret-stdin'], { input: `${SECRET}\n` })).exitCode).toBe(2);
    // install, from the environment, through --helm-binary as well
    const inst = await run('install', ['install', '--no-verify', ...base(), '--chart', v100, '-f', values, '--skip-preflight', '--timeout', '90s', '-o', 'json', '--helm-binary', join(wrapperDir, 'helm')], { env });
    expect(inst.exitCode, inst.stderr + inst.stdout).toBe(0);
    // refused second install
    expect((await run('install again', ['install', '--no-verify', ...base(), '--chart', v100, '-f', values, '--skip-preflight'], { env })).exitCode).toBe(1);
    // upgrade rotating the key from stdin, with JSON
    const up = await run('upgrade rotate', ['upgrade', ...base(), '--chart', await chartTgz('1.1.0'), '--access-key-secret-stdin', '-o', 'json', '--timeout', '90s'], { input: ROTATED });
    expect(up.exitCode, up.stderr + up.stdout).toBe(0);
    expect(JSON.parse(up.stdout).changes).toEqual([{ path: 'accessKeySecret', from: '[REDACTED]', to: '[REDACTED]', kind: 'changed' }]);
    // upgrade dry run and failing upgrade (rolls back), text and JSON
    expect((await run('upgrade dry-run', ['upgrade', ...base(), '--chart', await chartTgz('1.2.0'), '--dry-run'])).exitCode).toBe(0);
    expect((await run('upgrade fails', ['upgrade', ...base(), '--chart', await chartTgz('1.2.0'), '--timeout', '8s'])).exitCode).toBe(7);
    expect((await run('upgrade fails json', ['upgrade', ...base(), '--chart', await chartTgz('1.2.0'), '--timeout', '8s', '-o', 'json'])).exitCode).toBe(7);
    // a failing install (never-ready pods) after removing the release
    await cleanup(RELEASE, NS, CLUSTER_ID);
    const bad = await run('install fails', ['install', '--no-verify', ...base(), '--chart', await chartTgz('1.2.0'), '-f', values, '--skip-preflight', '--timeout', '8s', '-o', 'json'], { env });
    expect(bad.exitCode).toBe(7);
    expect(JSON.parse(bad.stdout).error.details.notReadyPods.length).toBeGreaterThan(0);
    // the secret on our own argv is refused and not echoed
    const argv = await run('set secret', ['install', '--no-verify', ...base(), '--chart', v100, '-f', values, '--set', `accessKeySecret=${ON_ARGV}`], {});
    expect(argv.exitCode).toBe(2);
    const flag = await run('flag secret', ['install', '--no-verify', ...base(), '--chart', v100, '-f', values, `--access-key-secret=${ON_ARGV}`], {});
    expect(flag.exitCode).toBe(2);
    expect(flag.stderr).toContain('not accepted on the command line');
  });

  it('never shows the secret in helm argv, process command lines or helm environment', () => {
    const argv = readFileSync(argvLog, 'utf8');
    expect(argv).toContain('--values'); // the wrapper did record the calls
    expect(argv.split('--- end of call').length).toBeGreaterThan(20);
    for (const s of [SECRET, ROTATED, ON_ARGV]) for (const f of forms(s)) expect(argv).not.toContain(f);
    expect(seen).toEqual([]);
    const env = readFileSync(envLog, 'utf8');
    expect(env.length).toBeGreaterThan(0);
    for (const s of [SECRET, ROTATED]) expect(env).not.toContain(s);
  });

  it('never shows the secret on stdout, stderr or in JSON', () => {
    expect(outputs.length).toBe(12);
    for (const { what, r } of outputs) {
      for (const s of [SECRET, ROTATED, ON_ARGV]) {
        for (const f of forms(s)) {
          expect(r.stdout, `${what} stdout`).not.toContain(f);
          expect(r.stderr, `${what} stderr`).not.toContain(f);
        }
      }
    }
    const dry = outputs.find((o) => o.what === 'dry-run text')!.r.stdout;
    expect(dry).toContain('[REDACTED]');
  });

  it('prompts for the secret on a TTY without echoing it', async (ctx) => {
    const py = await execa('python3', ['--version'], { reject: false });
    if (py.exitCode !== 0) ctx.skip('python3 (for a pseudo-terminal) is not installed');
    const PROMPTED = canary('D');
    await cleanup(RELEASE, NS, CLUSTER_ID); // the failed install above would make this one refuse
    // A pseudo-terminal from Python's pty module: Node has none built in.
    const script = [
      'import os, pty, select, sys, time',
      'pid, fd = pty.fork()',
      'if pid == 0:',
      '    os.execvp(sys.argv[1], sys.argv[1:])',
      'out = b""',
      'def pump(t, until=None):',
      '    global out',
      '    end = time.time() + t',
      '    while time.time() < end and (until is None or until not in out):',
      '        r, _, _ = select.select([fd], [], [], 0.1)',
      '        if r:',
      '            try: out += os.read(fd, 65536)',
      '            except OSError: return',
      'pump(20, b"input hidden")',
      'os.write(fd, os.environ["PROMPT_SECRET"].encode() + b"\\r")',
      'pump(60)',
      'os.waitpid(pid, 0)',
      'sys.stdout.write(out.decode(errors="replace"))',
    ].join('\n');
    const r = await execa('python3', ['-c', script, process.execPath, cliPath(), 'install', '--release', 'insight-e2e-prompt', '-n', 'e2e-canary-prompt', '--chart', await chartTgz('1.0.0'), '-f', writeValues(requiredValues('e2e-prompt-1')), '--dry-run', '-o', 'json'], {
      env: { PROMPT_SECRET: PROMPTED, TMPDIR: tmp, NO_COLOR: '1', NODE_ENV: undefined, ALIBABA_CLOUD_ACCESS_KEY_SECRET: undefined },
      extendEnv: true,
      reject: false,
    });
    expect(r.stdout).toContain('AccessKey secret (input hidden)');
    expect(r.stdout).toContain('"dryRun": true');
    for (const f of forms(PROMPTED)) expect(r.stdout).not.toContain(f);
  });

  /** The `helm install` process whose parent is `pid` (the CLI), from /proc. */
  const helmChildOf = (pid: number): number | undefined => {
    for (const p of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
      try {
        const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        const argv = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
        if (ppid === pid && argv.some((a) => a.endsWith('helm')) && argv.includes('install')) return Number(p);
      } catch {
        // gone meanwhile
      }
    }
    return undefined;
  };

  for (const signal of ['SIGINT', 'SIGKILL'] as const) {
    it(`${signal} while helm runs: the values (secret included) were never in a file, and none is left`, async () => {
      await cleanup(RELEASE, NS, CLUSTER_ID);
      const sigTmp = join(work, `tmp-${signal}`);
      mkdirSync(sigTmp);
      const child = spawnCli(['install', '--no-verify', ...base(), '--chart', await chartTgz('1.0.0'), '-f', writeValues(requiredValues(CLUSTER_ID)), '--skip-preflight', '--timeout', '60s'], {
        env: { ALIBABA_CLOUD_ACCESS_KEY_SECRET: SECRET, TMPDIR: sigTmp },
      });
      // Wait for `helm install` to run, watching TMPDIR the whole time: nothing may ever appear there.
      const end = Date.now() + 60_000;
      let helmPid: number | undefined;
      const seenFiles = new Set<string>();
      while (!helmPid && Date.now() < end && child.exitCode === null) {
        for (const f of walk(sigTmp)) seenFiles.add(f);
        helmPid = helmChildOf(child.pid!);
        if (!helmPid) await new Promise((r) => setTimeout(r, 5));
      }
      expect(helmPid, 'helm never ran').toBeDefined();
      expect([...seenFiles]).toEqual([]);
      child.kill(signal);
      const r = await child;
      if (signal === 'SIGINT') expect(r.exitCode).toBe(130);
      else expect(r.signal).toBe('SIGKILL');
      expect(walk(sigTmp)).toEqual([]);
      for (const f of forms(SECRET)) expect(`${r.stdout}${r.stderr}`).not.toContain(f);
      // A killed CLI leaves helm running on its own: let it finish before the next test.
      await processGone(helmPid!);
    });
  }

  it('leaves no file behind in TMPDIR', () => {
    const left = walk(tmp);
    for (const f of left) {
      const text = readFileSync(f, 'latin1');
      for (const s of [SECRET, ROTATED]) for (const x of forms(s)) expect(text, f).not.toContain(x);
    }
    // Values files are removed on every path, so nothing of ours remains at all.
    expect(left.filter((f) => statSync(f).isFile() && f.includes('kubectl-insight-'))).toEqual([]);
  });
});
