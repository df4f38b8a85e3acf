import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { buildSync } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { redact, REDACTED, Secret } from '../../../src/secret.js';
import { displayValues } from '../../../src/values/redact.js';

describe('Secret', () => {
  const canary = `canary-${process.pid}-${Date.now()}`;
  const s = new Secret(canary);

  it('never shows its value by accident', () => {
    expect(String(s)).toBe(REDACTED);
    // eslint-disable-next-line @typescript-eslint/restrict-template-expressions -- what a template literal makes of a Secret is under test
    expect(`${s}`).toBe(REDACTED);
    expect(JSON.stringify({ s })).toBe(`{"s":"${REDACTED}"}`);
    expect(inspect({ s })).not.toContain(canary);
    expect(s.reveal()).toBe(canary);
  });

  it('redact() scrubs a known secret from any text, and displayValues() the secret keys of a values tree', () => {
    expect(redact(`error: key ${canary} rejected; ${canary}`)).toBe(`error: key ${REDACTED} rejected; ${REDACTED}`);
    const v = displayValues({ accessKeySecret: 'plain-value', nested: { note: `has ${canary}`, s }, list: [s] });
    expect(v).toEqual({ accessKeySecret: REDACTED, nested: { note: `has ${REDACTED}`, s: REDACTED }, list: [REDACTED] });
  });
});

describe('values reach helm on stdin: nothing on disk, whatever kills us', () => {
  it('no file exists while helm runs, and none after a SIGKILL of the CLI', async () => {
    const work = mkdtempSync(join(tmpdir(), 'stdin-test-'));
    const tmp = join(work, 'tmp');
    mkdirSync(tmp);
    const got = join(work, 'got-values');
    // A helm that keeps what it read on stdin elsewhere and then hangs, as a slow install would.
    const helm = join(work, 'helm');
    writeFileSync(helm, `#!/usr/bin/env bash\ncat > "${got}"\nsleep 30\n`);
    chmodSync(helm, 0o755);
    const out = join(work, 'prog.mjs');
    buildSync({
      stdin: {
        contents: `import { Helm } from './src/helm/helm.ts';
import { Secret } from './src/secret.ts';
await new Helm({ binary: ${JSON.stringify(helm)} }).run(['install', 'r', 'c'], { values: { accessKeySecret: new Secret('sigkill-canary-0123456789') } });`,
        resolveDir: process.cwd(),
        loader: 'ts',
      },
      bundle: true,
      platform: 'node',
      format: 'esm',
      outfile: out,
      banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
      logLevel: 'silent',
    });
    const child = spawn(process.execPath, [out], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, TMPDIR: tmp }, detached: true });
    // helm has the values (so it is running), and there is no file anywhere under TMPDIR.
    for (let i = 0; i < 200 && !(existsSync(got) && readFileSync(got, 'utf8').includes('sigkill-canary')); i++) await new Promise((r) => setTimeout(r, 50));
    expect(readFileSync(got, 'utf8')).toContain('accessKeySecret: sigkill-canary-0123456789');
    expect(readdirSync(tmp)).toEqual([]);
    process.kill(-child.pid!, 'SIGKILL');
    await once(child, 'exit');
    expect(readdirSync(tmp)).toEqual([]);
  });
});
