import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { buildSync } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { redact, redactValues, REDACTED, Secret } from '../../../src/secret.js';

describe('Secret', () => {
  const canary = `canary-${process.pid}-${Date.now()}`;
  const s = new Secret(canary);

  it('never shows its value by accident', () => {
    expect(String(s)).toBe(REDACTED);
    expect(`${s}`).toBe(REDACTED);
    expect(JSON.stringify({ s })).toBe(`{"s":"${REDACTED}"}`);
    expect(inspect({ s })).not.toContain(canary);
    expect(s.reveal()).toBe(canary);
  });

  it('redact() scrubs a known secret from any text, and redactValues() the secret keys of a values tree', () => {
    expect(redact(`error: key ${canary} rejected; ${canary}`)).toBe(`error: key ${REDACTED} rejected; ${REDACTED}`);
    const v = redactValues({ accessKeySecret: 'plain-value', nested: { note: `has ${canary}`, s }, list: [s] });
    expect(v).toEqual({ accessKeySecret: REDACTED, nested: { note: `has ${REDACTED}`, s: REDACTED }, list: [REDACTED] });
  });
});

describe('values temp file clean-up', () => {
  it('is private (0600) while helm runs and removed on Ctrl-C', async () => {
    // Bundle a tiny program around the real writeValuesFile and interrupt it like a user would.
    const out = join(mkdtempSync(join(tmpdir(), 'cleanup-test-')), 'prog.mjs');
    buildSync({
      stdin: {
        contents: `import { writeValuesFile } from './src/helm/helm.ts';
import { Secret } from './src/secret.ts';
const f = writeValuesFile({ accessKeySecret: new Secret('sigint-canary') });
console.log(f.path);
setInterval(() => {}, 1000);`,
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
    const child = spawn(process.execPath, [out], { stdio: ['ignore', 'pipe', 'inherit'] });
    const [chunk] = (await once(child.stdout!, 'data')) as [Buffer];
    const path = chunk.toString().trim();
    expect(existsSync(path)).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(path, '..')).mode & 0o777).toBe(0o700);
    child.kill('SIGINT');
    const [code] = await once(child, 'exit');
    expect(code).toBe(130);
    expect(existsSync(path)).toBe(false);
  });
});
