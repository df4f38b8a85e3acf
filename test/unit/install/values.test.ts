import { describe, expect, it } from 'vitest';
import { diffValues } from '../../../src/values/diff.js';
import { rewriteImageRegistry } from '../../../src/values/image.js';
import { preflightInputFromValues } from '../../../src/values/preflight.js';
import { displayValues, redactManifests, secretForms } from '../../../src/values/redact.js';
import { applySet } from '../../../src/values/set.js';
import { assertNoSecretInSet, collectValues, readValuesFile } from '../../../src/values/sources.js';
import { mergeValues, wrapSecret, type Values } from '../../../src/values/tree.js';
import { validateValues } from '../../../src/values/validate.js';
import { REDACTED, Secret } from '../../../src/secret.js';
import { insightErrorOf } from '../../support/errors.js';

const SECRET = 'Zq8uNfW3kTq0aBcDeFgHiJkLmNoPqR';

function good(): Values {
  return {
    aliUid: '1234567890123456',
    accessKeyID: 'LTAI5tAbCdEfGhIjKlMnOpQr',
    accessKeySecret: new Secret(SECRET),
    clusterID: 'my-cluster-123',
    clusterName: 'prod cluster',
    workspace: 'my-workspace',
    region: 'cn-hangzhou',
    operator: { prometheus: { prometheusInstanceID: 'rw-p1234567890abcdef' } },
    entityCollector: { projectName: 'cms-my-workspace-v9h9awniowbzg' },
  };
}

function set(...exprs: string[]): Values {
  const t: Values = {};
  for (const e of exprs) applySet(t, e);
  return t;
}

const errorOf = insightErrorOf;

describe('--set parsing (helm strvals)', () => {
  it('nests dotted keys and types values like helm', () => {
    expect(set('a.b=c', 'n=42', 't=true', 'f=False', 'z=0', 'lead=007', 'nil=null', 'empty=')).toEqual({
      a: { b: 'c' },
      n: 42,
      t: true,
      f: false,
      z: 0,
      lead: '007',
      nil: null,
      empty: '',
    });
  });

  it('keeps a 16-digit account UID exact (beyond float precision it stays a string)', () => {
    expect(set('aliUid=12345678901234567')).toEqual({ aliUid: '12345678901234567' });
  });

  it('splits pairs on commas and honours escaped commas and dots', () => {
    expect(set('a=1,b=2')).toEqual({ a: 1, b: 2 });
    expect(set('a=x\\,y')).toEqual({ a: 'x,y' });
    expect(set('nodeSelector.kubernetes\\.io/os=linux')).toEqual({ nodeSelector: { 'kubernetes.io/os': 'linux' } });
  });

  it('handles list indices, nested items and {a,b} lists', () => {
    expect(set('l[0]=x', 'l[2]=z')).toEqual({ l: ['x', null, 'z'] });
    expect(set('tolerations[0].key=gpu,tolerations[0].operator=Exists')).toEqual({ tolerations: [{ key: 'gpu', operator: 'Exists' }] });
    expect(set('names={a,b,c}', 'after=1')).toEqual({ names: ['a', 'b', 'c'], after: 1 });
    expect(set('m[0][1]=q')).toEqual({ m: [[null, 'q']] });
  });

  it('--set-string keeps strings', () => {
    const t: Values = {};
    applySet(t, 'aliUid=1234,flag=true', true);
    expect(t).toEqual({ aliUid: '1234', flag: 'true' });
  });

  it('rejects malformed expressions with a usage error', () => {
    for (const bad of ['a', 'a,b=1', 'l[x]=1', 'l[0', 'l[99999999]=1', 'l={a,b']) {
      const e = errorOf(() => set(bad));
      expect(e.kind).toBe('usage');
      expect(e.message).toContain('--set');
    }
  });

  it('refuses the secret on argv without echoing it', () => {
    for (const expr of [`accessKeySecret=${SECRET}`, `a=1,accessKeySecret=${SECRET}`]) {
      const e = errorOf(() => assertNoSecretInSet([expr]));
      expect(e.kind).toBe('usage');
      expect(e.exitCode).toBe(2);
      expect(e.message).not.toContain(SECRET);
      expect(e.hint).toContain('ALIBABA_CLOUD_ACCESS_KEY_SECRET');
    }
    expect(() => assertNoSecretInSet(['accessKeyID=LTAIabcdefabcdef'])).not.toThrow();
  });
});

describe('merging', () => {
  it('merges maps key by key and replaces lists and scalars (helm -f order)', () => {
    const a = { x: { y: 1, z: [1, 2] }, keep: 'a' };
    const b = { x: { y: 2, z: [3] }, added: true };
    expect(mergeValues(a, b)).toEqual({ x: { y: 2, z: [3] }, keep: 'a', added: true });
    // inputs untouched
    expect(a.x.y).toBe(1);
  });

  it('orders sources env < files < --set < --set-string < flags < stdin', () => {
    const { values, sources } = collectValues({
      env: { ALIBABA_CLOUD_ACCESS_KEY_ID: 'LTAIenvenvenvenv', ALIBABA_CLOUD_ACCESS_KEY_SECRET: 'envsecretenvsecretenvsecret1' },
      files: [
        { name: 'a.yaml', values: { region: 'cn-beijing', clusterID: 'from-a', accessKeyID: 'LTAIfilefilefile' } },
        { name: 'b.yaml', values: { clusterID: 'from-b', accessKeySecret: 'filesecretfilesecretfile12' } },
      ],
      set: ['clusterID=from-set', 'workspace=ws-set'],
      setString: ['aliUid=0012'],
      flags: { workspace: 'ws-flag', region: undefined },
      stdinSecret: new Secret('stdinsecretstdinsecretstdin1'),
    });
    expect(values.region).toBe('cn-beijing');
    expect(values.clusterID).toBe('from-set');
    expect(values.workspace).toBe('ws-flag');
    expect(values.aliUid).toBe('0012');
    expect(values.accessKeyID).toBe('LTAIfilefilefile');
    expect((values.accessKeySecret as Secret).reveal()).toBe('stdinsecretstdinsecretstdin1');
    expect(sources).toMatchObject({ region: 'values file a.yaml', clusterID: '--set', workspace: 'flag', accessKeySecret: 'stdin', accessKeyID: 'values file a.yaml' });
  });

  it('reads the secret from the environment only when asked to (upgrade does not)', () => {
    const env = { ALIBABA_CLOUD_ACCESS_KEY_SECRET: 'envsecretenvsecretenvsecret1' };
    expect(collectValues({ env }).values.accessKeySecret).toBeInstanceOf(Secret);
    expect(collectValues({ env, useEnv: false }).values.accessKeySecret).toBeUndefined();
  });

  it('wraps a secret read from a values file so it prints as [REDACTED]', () => {
    const v = wrapSecret({ accessKeySecret: SECRET, a: 1 });
    expect(v.accessKeySecret).toBeInstanceOf(Secret);
    expect(JSON.stringify(v)).not.toContain(SECRET);
  });

  it('reads values files and reports bad YAML without quoting its lines', () => {
    expect(readValuesFile('x.yaml', () => 'a: 1\nb:\n  c: d\n')).toEqual({ a: 1, b: { c: 'd' } });
    expect(readValuesFile('x.yaml', () => '')).toEqual({});
    const e = errorOf(() => readValuesFile('x.yaml', () => `accessKeySecret: ${SECRET}\n  bad: [`));
    expect(e.message).toMatch(/not valid YAML/);
    expect(e.message).not.toContain(SECRET);
    expect(errorOf(() => readValuesFile('x.yaml', () => '- a\n- b\n')).message).toMatch(/mapping/);
    expect(errorOf(() => readValuesFile('/nope.yaml', () => { throw Object.assign(new Error('x'), { code: 'ENOENT' }); })).message).toMatch(/ENOENT/);
  });
});

describe('validation', () => {
  it('accepts good values and normalises loose ones', () => {
    const v = validateValues({ ...good(), aliUid: 1234567890123456, net: 'intranet', region: ' cn-hangzhou ' });
    expect(v.aliUid).toBe('1234567890123456');
    expect(v.net).toBe('Intranet');
    expect(v.region).toBe('cn-hangzhou');
  });

  it('lists every missing value at once, with where to give it', () => {
    const e = errorOf(() => validateValues({ region: 'cn-hangzhou' }));
    expect(e.exitCode).toBe(2);
    for (const k of ['aliUid', 'accessKeyID', 'accessKeySecret', 'clusterID', 'clusterName', 'workspace', 'operator.prometheus.prometheusInstanceID', 'entityCollector.projectName']) {
      expect(e.message).toContain(k);
    }
    expect(e.message).toContain('--ali-uid');
    expect(e.message).toContain('ALIBABA_CLOUD_ACCESS_KEY_SECRET');
    expect(e.details?.missing).toHaveLength(8);
    expect(e.message.split('\n')).toHaveLength(1);
  });

  it('suggests a region for a typo and allows new regions only when asked', () => {
    const e = errorOf(() => validateValues({ ...good(), region: 'cn-hangzohu' }));
    expect(e.message).toContain('did you mean cn-hangzhou');
    expect(e.message).toContain('--allow-unknown-region');
    expect(validateValues({ ...good(), region: 'xx-newplace-1' }, { allowUnknownRegion: true }).region).toBe('xx-newplace-1');
    expect(errorOf(() => validateValues({ ...good(), region: 'Not A Region' }, { allowUnknownRegion: true })).message).toMatch(/not shaped like a region/);
  });

  it('checks clusterID against Kubernetes and SLS machine-group naming', () => {
    expect(errorOf(() => validateValues({ ...good(), clusterID: 'My_Cluster' })).message).toMatch(/clusterID "My_Cluster" must be lowercase/);
    expect(errorOf(() => validateValues({ ...good(), clusterID: 'a.b' })).message).toMatch(/clusterID/);
    expect(errorOf(() => validateValues({ ...good(), clusterID: 'x'.repeat(94) })).message).toMatch(/at most 93/);
    expect(validateValues({ ...good(), clusterID: 'x'.repeat(93) }).clusterID).toHaveLength(93);
  });

  it('checks the AccessKey ID shape and refuses STS keys', () => {
    expect(errorOf(() => validateValues({ ...good(), accessKeyID: 'LTAI 5t' })).message).toMatch(/does not look like an AccessKey ID/);
    expect(errorOf(() => validateValues({ ...good(), accessKeyID: 'STS.NUabcdefg' })).message).toMatch(/temporary STS key/);
  });

  it('never shows the secret in its messages', () => {
    const bad = 'short secret with spaces';
    const e = errorOf(() => validateValues({ ...good(), accessKeySecret: new Secret(bad) }));
    expect(e.message).toMatch(/accessKeySecret does not look like/);
    expect(e.message).not.toContain(bad);
    const same = errorOf(() => validateValues({ ...good(), accessKeyID: 'LTAI5tAbCdEfGhIjKlMnOpQr', accessKeySecret: new Secret('LTAI5tAbCdEfGhIjKlMnOpQr') }));
    expect(same.message).toMatch(/equals accessKeyID/);
  });

  it('rejects aliUid that lost digits as a YAML number, and other bad names', () => {
    // eslint-disable-next-line no-loss-of-precision -- the number that lost digits is what the test is about
    expect(errorOf(() => validateValues({ ...good(), aliUid: 12345678901234567890 })).message).toMatch(/lost digits/);
    expect(errorOf(() => validateValues({ ...good(), aliUid: 'abc' })).message).toMatch(/account UID/);
    expect(errorOf(() => validateValues({ ...good(), entityCollector: { projectName: 'Bad_Project' } })).message).toMatch(/SLS project name/);
    expect(errorOf(() => validateValues({ ...good(), net: 'vpc' })).message).toMatch(/Internet or Intranet/);
    expect(errorOf(() => validateValues({ ...good(), clusterName: 'a\nb' })).message).toMatch(/control character/);
    expect(errorOf(() => validateValues(good(), { release: 'Bad_Release' })).message).toMatch(/release name/);
    expect(errorOf(() => validateValues(good(), { namespace: 'x'.repeat(64) })).message).toMatch(/namespace/);
  });

  it('reports several problems in one error', () => {
    const e = errorOf(() => validateValues({ ...good(), region: 'cn-nowhere', clusterID: 'UPPER' }));
    expect(e.message).toContain('region');
    expect(e.message).toContain('clusterID');
  });
});

describe('redaction', () => {
  it('diffs values with the secret redacted', () => {
    const before = { ...good(), scrapeInterval: '30s' };
    const after = { ...good(), accessKeySecret: new Secret('AnotherSecretAnotherSecret1234'), scrapeInterval: '60s', logLevel: 'debug' };
    const d = diffValues(before, after);
    expect(d).toEqual([
      { path: 'accessKeySecret', from: REDACTED, to: REDACTED, kind: 'changed' },
      { path: 'logLevel', to: 'debug', kind: 'added' },
      { path: 'scrapeInterval', from: '30s', to: '60s', kind: 'changed' },
    ]);
    expect(diffValues(good(), good())).toEqual([]);
    expect(JSON.stringify(d)).not.toContain('AnotherSecret');
    // a list is one leaf of the diff; text inside it is scrubbed like any displayed value
    new Secret(SECRET); // registered, so redact() knows it whatever ran before
    expect(diffValues({ args: ['a'] }, { args: [`--key=${SECRET}`] })).toEqual([{ path: 'args', from: ['a'], to: [`--key=${REDACTED}`], kind: 'changed' }]);
  });

  it('displays values with the secret redacted, even as plain text', () => {
    const shown = JSON.stringify(displayValues({ ...good(), accessKeySecret: 'plainplainplainplain', note: `x ${SECRET} y` }));
    expect(shown).not.toContain('plainplainplainplain');
    expect(shown).not.toContain(SECRET);
    expect(displayValues({ accessKeySecret: 'plainplainplainplain', empty: { accessKeySecret: '' }, note: `x ${SECRET} y`, n: 1 })).toEqual({
      accessKeySecret: REDACTED,
      empty: { accessKeySecret: '' },
      note: `x ${REDACTED} y`,
      n: 1,
    });
  });

  it('redacts the secret and its base64 forms in rendered manifests', () => {
    const b64 = Buffer.from(SECRET).toString('base64');
    const docker = Buffer.from(`{"auths":{"r":{"password":"${SECRET}"}}}`).toString('base64');
    const env = Buffer.from(`KEY=${SECRET}\n`).toString('base64');
    const manifests = [
      '---',
      '# Source: c/templates/secret.yaml',
      'apiVersion: v1',
      'kind: Secret',
      'metadata:',
      '  name: creds',
      'data:',
      `  accessKeySecret: "${b64}"`,
      `  accessKeyID: "${Buffer.from('LTAI5tAbCdEfGhIjKlMnOpQr').toString('base64')}"`,
      `  docker: ${docker}`,
      '---',
      'apiVersion: v1',
      'kind: ConfigMap',
      'data:',
      `  leaked: "${SECRET}"`,
      `  env: "${env}"`,
      '',
    ].join('\n');
    const out = redactManifests(manifests, [new Secret(SECRET)]);
    expect(out).not.toContain(SECRET);
    expect(out).not.toContain(b64);
    expect(out).not.toContain(docker);
    for (const f of secretForms(SECRET)) expect(out).not.toContain(f);
    expect(out).toContain('accessKeyID: "TFRBSTV0');
    expect(out).toContain(REDACTED);
    // base64 of the secret inside a longer text, at every alignment, is scrubbed too
    for (const prefix of ['', 'a', 'ab', 'abc']) {
      const enc = Buffer.from(`${prefix}${SECRET}tail`).toString('base64');
      const scrubbed = redactManifests(`x: ${enc}\n`, [new Secret(SECRET)]);
      expect(scrubbed).toContain(REDACTED);
    }
  });
});

describe('image registry rewrite', () => {
  it('keeps each path, replaces the host, and leaves user-set repositories alone', () => {
    const defaults = {
      operator: { image: { repository: 'registry-cn-hangzhou.ack.aliyuncs.com/acs/loongcollector-operator', tag: 'v1' } },
      nodeExporter: { image: { repository: 'prometheus-agent-repo-registry.cn-beijing.cr.aliyuncs.com/loongcollector/node-exporter' } },
      kubeStateMetrics: { image: { repository: 'bare/name' } },
      gpuExporter: { image: { repository: 'mine/gpu' } },
    };
    const overlay = rewriteImageRegistry(defaults, { gpuExporter: { image: { repository: 'mine/gpu' } } }, 'https://mirror.example.com:5000/');
    expect(overlay).toEqual({
      operator: { image: { repository: 'mirror.example.com:5000/acs/loongcollector-operator' } },
      nodeExporter: { image: { repository: 'mirror.example.com:5000/loongcollector/node-exporter' } },
      kubeStateMetrics: { image: { repository: 'mirror.example.com:5000/bare/name' } },
    });
  });
});

describe('values files and the secret: bounded, typed, never quoted', () => {
  it('refuses a device, a directory and a file over 1 MiB before reading it', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    expect(errorOf(() => readValuesFile('/dev/zero')).message).toBe('values file /dev/zero is not a regular file');
    const dir = mkdtempSync(join(tmpdir(), 'values-bound-'));
    expect(errorOf(() => readValuesFile(dir)).message).toBe(`values file ${dir} is not a regular file`);
    const big = join(dir, 'big.yaml');
    writeFileSync(big, `a: "${'x'.repeat(1024 * 1024)}"\n`);
    expect(errorOf(() => readValuesFile(big)).message).toBe(`values file ${big} is larger than 1 MiB`);
  });

  it('an unknown YAML tag on the secret line prints no library warning (it would quote the secret)', () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(String(w));
    const origWarn = console.warn;
    process.on('warning', onWarning);
    console.warn = (...a: unknown[]) => void warnings.push(a.join(' '));
    try {
      const v = readValuesFile('x.yaml', () => `accessKeySecret: !vault ${SECRET}\n`);
      expect(v.accessKeySecret).toBe(SECRET);
    } finally {
      process.off('warning', onWarning);
      console.warn = origWarn;
    }
    expect(warnings.join('\n')).not.toContain(SECRET);
  });

  it('a secret given as a list, map or number is refused without showing it', () => {
    for (const bad of [[SECRET], { value: SECRET }, 1234567890123456]) {
      const e = errorOf(() => validateValues({ ...good(), accessKeySecret: bad }));
      expect(e.message + (e.hint ?? '')).not.toContain(String(SECRET));
      expect(JSON.stringify(e.details ?? {})).not.toContain(String(SECRET));
      expect(e.message).toMatch(/accessKeySecret must be a string, not a (list|map|number)/);
    }
  });
});

describe('required values have the right type', () => {
  it('a boolean, list or map where text is required is one named problem each', () => {
    const e = errorOf(() => validateValues({ ...good(), clusterID: true, workspace: ['a'] as never, clusterName: { a: 1 } }));
    expect(e.message + (e.hint ?? '')).toContain('clusterID must be a string, not a boolean');
    expect(e.message + (e.hint ?? '')).toContain('workspace must be a string, not a list');
    expect(e.message + (e.hint ?? '')).toContain('clusterName must be a string, not a map');
  });
});

describe('values → preflight input', () => {
  it('takes region, net, key id, secret, project and instance from the values; leaves out what is absent or empty', () => {
    const secret = new Secret(SECRET);
    expect(preflightInputFromValues({ ...good(), accessKeySecret: secret, net: 'Intranet' })).toEqual({
      region: 'cn-hangzhou',
      net: 'Intranet',
      accessKeyId: 'LTAI5tAbCdEfGhIjKlMnOpQr',
      accessKeySecret: secret,
      projectName: 'cms-my-workspace-v9h9awniowbzg',
      prometheusInstanceId: 'rw-p1234567890abcdef',
    });
    expect(preflightInputFromValues({ region: '', net: 'vpc', accessKeySecret: SECRET, operator: { prometheus: {} } })).toEqual({ net: 'vpc' });
  });
});
