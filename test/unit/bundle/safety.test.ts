// The bundle's safety rules, each on a case the first version got wrong: secrets it never learned,
// a bundle written although the release could not be read, a target checked only after every read,
// results waiting without bound, names tar could not hold or that carried the user's patterns, logs
// that kept the oldest part of the window, and a user pattern that never finishes.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBundle } from '../../../src/actions/bundle.js';
import { compileExtraPattern } from '../../../src/bundle/redact.js';
import { InsightError } from '../../../src/errors.js';
import { helmSecret } from '../doctor/fake.js';
import { fakeApi, fakeDeps, NS, pod } from './fake.js';
import { cluster, opts, P, temp, unpack } from './support.js';

const OLD = 'OLDsecret-0123456789abcdefghij';
const NEW = 'NEWsecret-9876543210zyxwvutsrq';
const ENV_LINE = 'DB_PASSWORD=envfile-value-77';

/** Every text file of an unpacked bundle, concatenated. */
function allText(dir: string, names: string[]): string {
  return names.filter((n) => !n.endsWith('/')).map((n) => readFileSync(join(dir, n), 'utf8')).join('\n');
}

/** Two revisions: the old one rendered a Secret holding an env file; each had its own AccessKey secret. */
function releaseRecords() {
  const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'extra-env', namespace: NS }, stringData: { env: `A=1\n${ENV_LINE}\n` } };
  return [
    { ...helmSecret({ revision: 1, status: 'superseded', manifest: [secret], config: { accessKeySecret: OLD, clusterId: 'c1' } }) },
    { ...helmSecret({ revision: 2, status: 'deployed', manifest: [], config: { accessKeySecret: NEW, clusterId: 'c1' } }) },
  ];
}

describe('secrets the bundle must learn', () => {
  it("every revision's secrets and each line of a multi-line Secret value are redacted from logs", async () => {
    const dir = temp('/tmp/bundle-learn-');
    const c = cluster();
    c.lists[`${P}/secrets`] = releaseRecords();
    c.logs['ksm-1/main'] = `start\nold key ${OLD} still cached\nnew key ${NEW}\nread ${ENV_LINE.split('=')[1]} from env\n${ENV_LINE}\nend\n`;
    const r = await runBundle(opts(dir), fakeDeps(fakeApi(c)));
    const u = unpack(r.path!);
    const text = allText(u.dir, u.names);
    for (const hidden of [OLD, NEW, 'envfile-value-77']) expect(text).not.toContain(hidden);
    const log = readFileSync(join(u.dir, 'logs/ksm-1/main.log'), 'utf8');
    expect(log).toContain('still cached');
    expect(log).toContain('end\n');
  });

  it("refuses to write when the release's records cannot be read, and says how to go on", async () => {
    const dir = temp('/tmp/bundle-refuse-');
    const c = cluster({ forbidden: [`${P}/secrets`] });
    const err = await runBundle(opts(dir, { allowUnknownSecrets: false }), fakeDeps(fakeApi(c))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InsightError);
    expect((err as InsightError).kind).toBe('forbidden');
    expect((err as InsightError).message).toMatch(/no bundle was written/);
    expect((err as InsightError).hint).toMatch(/--allow-unknown-secrets/);
    expect(readdirSync(dir)).toEqual([]);
    // Asked for, the bundle is written and says what it could not learn.
    const r = await runBundle(opts(dir, { allowUnknownSecrets: true }), fakeDeps(fakeApi(c)));
    expect(r.errors.map((e) => e.component)).toContain('release');
    expect(readdirSync(dir)).toEqual([r.path!.split('/').pop()]);
  });

  it('a cluster that cannot be reached is no reason to refuse: nothing of it is read', async () => {
    const dir = temp('/tmp/bundle-unreach-');
    const r = await runBundle(opts(dir), fakeDeps(new InsightError('unreachable', 'connection refused')));
    expect(existsSync(r.path!)).toBe(true);
  });
});

describe('the target', () => {
  it('a missing directory fails before anything is read from the cluster', async () => {
    let gets = 0;
    const c = cluster({ onGet: () => void gets++ });
    const err = await runBundle(opts('/tmp', { outputFile: '/tmp/no-such-dir-for-bundles/b.tar.gz' }), fakeDeps(fakeApi(c))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InsightError);
    expect((err as InsightError).message).toMatch(/does not exist \(ENOENT\)/);
    expect(gets).toBe(0);
  });

  it('a path through a regular file fails the same way (ENOTDIR), leaving nothing', async () => {
    const dir = temp('/tmp/bundle-notdir-');
    const r = await runBundle(opts(dir), fakeDeps(fakeApi(cluster())));
    const err = await runBundle(opts(dir, { outputFile: `${r.path!}/x.tar.gz` }), fakeDeps(fakeApi(cluster()))).catch((e: unknown) => e);
    expect((err as InsightError).message).toMatch(/ENOTDIR/);
    expect(readdirSync(dir)).toHaveLength(1);
  });
});

describe('collection', () => {
  it('starts at most `concurrency` files ahead of the one being written', async () => {
    const dir = temp('/tmp/bundle-window-');
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const started: string[] = [];
    const c = cluster({
      onGet: async (p) => {
        if (!p.includes('/log?')) return;
        started.push(p);
        // The first log waits until the test has counted what started meanwhile.
        if (started.length === 1) await gate;
      },
    });
    const run = runBundle(opts(dir, { concurrency: 2 }), fakeDeps(fakeApi(c)));
    for (let i = 0; i < 100 && started.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 200));
    // The first log and the one after it; the other logs wait for the first to be written.
    expect(started.length).toBe(2);
    release();
    const r = await run;
    expect(r.files.filter((f) => f.path.startsWith('logs/') && f.status === 'written').length).toBeGreaterThan(2);
  });

  it('keeps the newest whole lines of a log longer than --log-bytes, and notes it', async () => {
    const dir = temp('/tmp/bundle-newest-');
    const c = cluster();
    c.logs['ksm-1/main'] = Array.from({ length: 2000 }, (_, i) => `line ${String(i).padStart(5, '0')} of the log, padded out\n`).join('');
    const r = await runBundle(opts(dir, { logBytes: 4096 }), fakeDeps(fakeApi(c)));
    const u = unpack(r.path!);
    const log = readFileSync(join(u.dir, 'logs/ksm-1/main.log'), 'utf8');
    expect(log).toContain('line 01999 of the log');
    expect(log).not.toContain('line 00000 ');
    expect(log.startsWith('line ')).toBe(true);
    expect(Buffer.byteLength(log)).toBeLessThanOrEqual(4096);
    expect(u.manifest.files.find((f: { path: string }) => f.path === 'logs/ksm-1/main.log').note).toMatch(/older lines left out/);
  });

  it('a --redact-extra pattern that never finishes leaves that file out, and the rest is written', async () => {
    const dir = temp('/tmp/bundle-redos-');
    const c = cluster();
    c.logs['ksm-1/main'] = `${'a'.repeat(40)}!`;
    const re = compileExtraPattern('(a+)+$') as RegExp;
    const r = await runBundle(opts(dir, { redactExtra: [re], redactDeadlineMs: 300 }), fakeDeps(fakeApi(c)));
    const f = r.files.find((x) => x.path === 'logs/ksm-1/main.log')!;
    expect(f.status).toBe('error');
    expect(f.reason).toMatch(/did not finish/);
    const u = unpack(r.path!);
    expect(u.names).not.toContain('logs/ksm-1/main.log');
    expect(u.names).toContain('manifest.json');
  });
});

describe('names', () => {
  it('a log path longer than ustar holds is written whole', async () => {
    const dir = temp('/tmp/bundle-longname-');
    const long = `p${'x'.repeat(251)}`;
    const c = cluster();
    c.lists[`${P}/pods`] = [pod(long, { containers: [`c${'y'.repeat(62)}`] })];
    c.logs[`${long}/c${'y'.repeat(62)}`] = 'hello\n';
    const r = await runBundle(opts(dir), fakeDeps(fakeApi(c)));
    const u = unpack(r.path!);
    const name = `logs/${long}/c${'y'.repeat(62)}.log`;
    expect(u.names).toContain(name);
    expect(readFileSync(join(u.dir, name), 'utf8')).toBe('hello\n');
    expect(r.errors.map((e) => e.component)).toEqual(['release']); // no helm release in this cluster: nothing else failed
  });

  it('--redact-extra applies to file names, the context and the server, in the manifest and README', async () => {
    const dir = temp('/tmp/bundle-names-');
    const c = cluster();
    c.lists[`${P}/pods`] = [pod('app-corp-123456-x', { ready: false })];
    c.logs['app-corp-123456-x/main'] = 'up\n';
    const re = compileExtraPattern('corp-[0-9]{6}') as RegExp;
    const r = await runBundle(opts(dir, { redactExtra: [re], context: 'ctx-corp-654321', server: 'https://corp-111111.example:6443' }), fakeDeps(fakeApi(c)));
    const u = unpack(r.path!);
    expect(u.names.join('\n')).not.toMatch(/corp-\d{6}/);
    expect(allText(u.dir, u.names)).not.toMatch(/corp-\d{6}/);
    expect(u.names.some((n) => n.startsWith('logs/app-[REDACTED]-x/'))).toBe(true);
  });
});

describe('second review', () => {
  it('a private key cut by the log window leaves no line of its body', async () => {
    const dir = temp('/tmp/bundle-pemcut-');
    const body = Array.from({ length: 26 }, (_, i) => `MIIEv${String(i).padStart(2, '0')}${'QkFTRTY0'.repeat(7)}`);
    const c = cluster();
    c.logs['ksm-1/main'] = `${'x'.repeat(60)}\n`.repeat(40) + `dumping key\n-----BEGIN PRIVATE KEY-----\n${body.join('\n')}\n-----END PRIVATE KEY-----\nafter\n`;
    // The newest 1 KiB starts inside the key: no BEGIN line in what is kept.
    const r = await runBundle(opts(dir, { logBytes: 1024 }), fakeDeps(fakeApi(c)));
    const log = readFileSync(join(unpack(r.path!).dir, 'logs/ksm-1/main.log'), 'utf8');
    expect(log).toContain('after');
    for (const line of body) expect(log).not.toContain(line.slice(0, 20));
  });

  it('a Secret value that is not text, Go-escaped JSON, and a short value inside longer base64 are found', async () => {
    const dir = temp('/tmp/bundle-forms-');
    const binary = Buffer.from('9f00ff10aa55cc33ee', 'hex');
    const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: NS }, data: { bin: binary.toString('base64') }, stringData: { pw: 'p&ss<w>rd-long1', short: 'hunter2hun12' } };
    const c = cluster();
    c.lists[`${P}/secrets`] = [helmSecret({ revision: 1, manifest: [secret], config: { accessKeySecret: NEW } })];
    const dockerAuth = Buffer.from('bob:hunter2hun12').toString('base64');
    c.logs['ksm-1/main'] = `bin ${binary.toString('hex')} b64 ${binary.toString('base64')}\n{"pw":"p\\u0026ss\\u003cw\\u003erd-long1"}\nauth ${dockerAuth}\n`;
    const r = await runBundle(opts(dir, { allowUnknownSecrets: false }), fakeDeps(fakeApi(c)));
    const log = readFileSync(join(unpack(r.path!).dir, 'logs/ksm-1/main.log'), 'utf8');
    for (const hidden of [binary.toString('hex'), binary.toString('base64'), 'p\\u0026ss\\u003cw\\u003erd-long1', dockerAuth.slice(4, 16)]) expect(log).not.toContain(hidden);
  });

  it('PGPASSWORD-style names run together are sensitive in values, env and logs', async () => {
    const dir = temp('/tmp/bundle-pg-');
    const c = cluster();
    c.lists[`${P}/secrets`] = [helmSecret({ revision: 1, manifest: [], config: { accessKeySecret: NEW, extraEnv: { PGPASSWORD: 'pgS3cr3tValue99' } } })];
    c.lists[`${P}/pods`] = [{ ...pod('app-1', { ready: false }), spec: { containers: [{ name: 'main', image: 'x', env: [{ name: 'MYSQL_PWD', value: 'myS3cr3t77' }] }] } }];
    c.logs['app-1/main'] = 'env PGPASSWORD=pgS3cr3tValue99 MYSQL_PWD=myS3cr3t77\n';
    const r = await runBundle(opts(dir, { allowUnknownSecrets: false }), fakeDeps(fakeApi(c)));
    const u = unpack(r.path!);
    const text = allText(u.dir, u.names);
    expect(text).not.toContain('pgS3cr3tValue99');
    expect(text).not.toContain('myS3cr3t77');
  });

  it('a corrupt newest revision refuses (nothing written) unless asked, and never crashes', async () => {
    const dir = temp('/tmp/bundle-corrupt-');
    const bad = helmSecret({ revision: 2, manifest: [] });
    bad.data.release = Buffer.from(Buffer.from('not gzip, not json').toString('base64')).toString('base64');
    const c = cluster();
    c.lists[`${P}/secrets`] = [helmSecret({ revision: 1, manifest: [], config: { accessKeySecret: OLD } }), bad];
    const err = await runBundle(opts(dir, { allowUnknownSecrets: false }), fakeDeps(fakeApi(c))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InsightError);
    expect((err as InsightError).message).toMatch(/no bundle was written/);
    expect(readdirSync(dir)).toEqual([]);
    const r = await runBundle(opts(dir), fakeDeps(fakeApi(c)));
    expect(r.errors.map((e) => e.component)).toContain('release revision 2');
  });

  it('no release of that name refuses with the hint to check -n and --release', async () => {
    const dir = temp('/tmp/bundle-norel-');
    const err = await runBundle(opts(dir, { allowUnknownSecrets: false }), fakeDeps(fakeApi(cluster()))).catch((e: unknown) => e);
    expect((err as InsightError).kind).toBe('not-found');
    expect((err as InsightError).hint).toMatch(/--release/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('names a --redact-extra pattern makes equal stay apart', async () => {
    const dir = temp('/tmp/bundle-collide-');
    const c = cluster();
    c.lists[`${P}/pods`] = [pod('acme-db-0', { ready: false }), pod('acme-db-1', { ready: false })];
    c.logs['acme-db-0/main'] = 'zero\n';
    c.logs['acme-db-1/main'] = 'one\n';
    const r = await runBundle(opts(dir, { redactExtra: [compileExtraPattern('acme-db-\\d') as RegExp] }), fakeDeps(fakeApi(c)));
    const u = unpack(r.path!);
    const logs = u.names.filter((n) => n.startsWith('logs/')).sort();
    expect(logs).toEqual(['logs/[REDACTED]/main-2.log', 'logs/[REDACTED]/main.log']);
    expect(logs.map((n) => readFileSync(join(u.dir, n), 'utf8')).sort()).toEqual(['one\n', 'zero\n']);
  });
});

describe('--output-file', () => {
  it.each([[''], ['sub/'], ['.']])('%j is not a file name: exit 2, nothing read or written', async (name) => {
    const dir = temp('/tmp/bundle-outname-');
    let gets = 0;
    const err = await runBundle(opts(dir, { outputFile: name }), fakeDeps(fakeApi(cluster({ onGet: () => void gets++ })))).catch((e: unknown) => e);
    expect((err as InsightError).kind).toBe('usage');
    expect((err as InsightError).message).toMatch(/is not a file name/);
    expect(gets).toBe(0);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('objects that only point at credentials', () => {
  it('a secret volume and a projected service-account token keep their settings', async () => {
    const { Redactor } = await import('../../../src/bundle/redact.js');
    const vol = { volumes: [{ name: 'tls', secret: { secretName: 'my-tls', defaultMode: 420, items: [{ key: 'tls.crt', path: 'tls.crt' }] } }, { name: 'tok', projected: { sources: [{ serviceAccountToken: { audience: 'sts', expirationSeconds: 3600, path: 'token' } }] } }] };
    expect(new Redactor({ secrets: [] }).object(vol, {})).toEqual(vol);
  });
});

describe('third review', () => {
  it('a newest record without its release data refuses; an older one is only noted', async () => {
    const dir = temp('/tmp/bundle-nodata-');
    const newest = helmSecret({ revision: 2, manifest: [], config: { accessKeySecret: NEW } });
    delete newest.data;
    const c = cluster();
    c.lists[`${P}/secrets`] = [helmSecret({ revision: 1, manifest: [], config: { accessKeySecret: OLD } }), newest];
    const err = await runBundle(opts(dir, { allowUnknownSecrets: false }), fakeDeps(fakeApi(c))).catch((e: unknown) => e);
    expect((err as InsightError).message).toMatch(/no bundle was written/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('names that --redact-extra turns into a file and a directory of the same name end, and extract', async () => {
    const dir = temp('/tmp/bundle-filedir-');
    const c = cluster();
    c.lists[`${P}/pods`] = [pod('ksm-1', { ready: false }), pod('ne-0', { ready: false, containers: ['sidecar'] })];
    c.logs['ksm-1/main'] = 'k\n';
    c.logs['ne-0/sidecar'] = 's\n';
    const re = compileExtraPattern('ksm-1/main\\.log|ne-0') as RegExp;
    const dry = await runBundle(opts(dir, { redactExtra: [re], dryRun: true }), fakeDeps(fakeApi(c)));
    const r = await runBundle(opts(dir, { redactExtra: [re] }), fakeDeps(fakeApi(c)));
    const u = unpack(r.path!);
    const logs = u.names.filter((n) => n.startsWith('logs/') || n.startsWith('renamed/'));
    expect(logs).toHaveLength(2);
    expect(logs.map((n) => readFileSync(join(u.dir, n), 'utf8')).sort()).toEqual(['k\n', 's\n']);
    // The dry run names them as the real run does.
    expect(dry.files.filter((f) => f.section === 'logs').map((f) => f.path).sort()).toEqual([...logs].sort());
  });

  it('a Secret value of many KiB (a CA bundle) is learned by its lines and the bundle is whole', async () => {
    const dir = temp('/tmp/bundle-big-');
    const lines = Array.from({ length: 220 }, (_, i) => `${String(i).padStart(4, '0')}${'Q0FCVU5ETEU'.repeat(5)}x`);
    const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'ca', namespace: NS }, stringData: { 'ca.crt': lines.join('\n') } };
    const c = cluster();
    c.lists[`${P}/secrets`] = [helmSecret({ revision: 1, manifest: [secret], config: { accessKeySecret: NEW } })];
    c.logs['ksm-1/main'] = `loaded\n${lines[17]}\ndone\n`;
    const r = await runBundle(opts(dir, { allowUnknownSecrets: false }), fakeDeps(fakeApi(c)));
    expect(r.files.filter((f) => f.status === 'error')).toEqual([]);
    const log = readFileSync(join(unpack(r.path!).dir, 'logs/ksm-1/main.log'), 'utf8');
    expect(log).not.toContain(lines[17]);
    expect(log).toContain('done');
  });

  it('an error message with a secret across the 300-character cut keeps none of it', async () => {
    const messageOf = async (pad: number) => {
      const dir = temp('/tmp/bundle-cut-');
      const c = cluster({ onGet: (p) => { if (p.endsWith('/services')) throw new Error(`${'x'.repeat(pad)}${NEW} tail`); } });
      c.lists[`${P}/secrets`] = [helmSecret({ revision: 1, manifest: [], config: { accessKeySecret: NEW } })];
      const r = await runBundle(opts(dir, { allowUnknownSecrets: false }), fakeDeps(fakeApi(c)));
      const u = unpack(r.path!);
      expect(JSON.stringify(r.errors)).not.toContain(NEW.slice(0, 6));
      return u.manifest.errors.find((e: { component: string }) => e.component === 'objects/services.json').message as string;
    };
    // Where the secret lands after the API error's own prefix, then a padding that puts it across the cut.
    const at = (await messageOf(0)).indexOf('[REDACTED]');
    expect(at).toBeGreaterThan(0);
    const msg = await messageOf(300 - at - 10);
    expect(msg).toHaveLength(300);
    expect(msg).not.toContain(NEW.slice(0, 6));
    expect(msg.endsWith('[REDACTED]'.slice(0, 10))).toBe(true);
  });

  it('--output-file that is a dangling symbolic link is refused before any read', async () => {
    const dir = temp('/tmp/bundle-link-');
    const { symlinkSync } = await import('node:fs');
    symlinkSync(join(dir, 'nowhere'), join(dir, 'b.tar.gz'));
    let gets = 0;
    const err = await runBundle(opts(dir, { outputFile: 'b.tar.gz' }), fakeDeps(fakeApi(cluster({ onGet: () => void gets++ })))).catch((e: unknown) => e);
    expect((err as InsightError).message).toMatch(/already exists/);
    expect(gets).toBe(0);
  });
});
