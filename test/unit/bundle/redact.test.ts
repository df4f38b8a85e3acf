import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { DeadlineExceeded, runWithin } from '../../../src/bundle/deadline.js';
import { BUILT_IN_RULES, compileExtraPattern, isSensitiveName, Redactor, secretParts, SHORT_SECRET_MIN, type RedactionCounts, type RedactionRule } from '../../../src/bundle/redact.js';
import { REDACTED } from '../../../src/secret.js';
import { secretForms } from '../../../src/values/redact.js';
import { secretFormsByName } from '../../support/secret-forms.js';

// A canary with the characters that make its encodings differ: / + = & " and a space.
const CANARY = `Cn/${randomBytes(9).toString('hex')}+x=&"q y`;
const FORMS = secretFormsByName(CANARY);
const r = new Redactor({ secrets: [CANARY] });

describe('secretForms', () => {
  it('has every form, each distinct for this canary, none shorter than 8', () => {
    const forms = secretForms(CANARY);
    for (const [name, f] of Object.entries(FORMS)) expect(forms, name).toContain(f);
    // The canary's space, quote and slash make these pairs differ, so each is really tested.
    expect(FORMS['url-encoded']).not.toBe(FORMS['form-encoded']);
    expect(FORMS['json-escaped']).not.toBe(FORMS.raw);
    expect(FORMS.hex).not.toBe(FORMS.HEX);
    expect(forms.every((f) => f.length >= 8)).toBe(true);
    expect(secretForms('short').every((f) => f.length >= 8 && f !== 'short')).toBe(true);
  });
});

describe('Redactor: known secrets in every form', () => {
  it.each(Object.entries(FORMS))('%s in a log line, a URL, YAML and JSON', (_name, form) => {
    const counts: RedactionCounts = {};
    const log = r.text(`2026-12-01T00:00:00Z level=info msg="sending" value ${form} done\n`, counts);
    const url = r.text(`https://example.com/x?q=${form}&z=1`, counts);
    const yaml = r.text(stringify({ config: { note: `v ${form}` } }), counts);
    const json = r.json({ metadata: { annotations: { note: `v ${form}` } }, list: [form] }, counts);
    for (const out of [log, url, yaml, json]) {
      for (const f of Object.values(FORMS)) expect(out).not.toContain(f);
      expect(out).toContain(REDACTED);
    }
    expect(counts['known-secret']).toBeGreaterThanOrEqual(4);
  });

  it('inside a longer base64 text, at every alignment', () => {
    for (const prefix of ['', 'a', 'ab', 'abc']) {
      const enc = Buffer.from(`${prefix}${CANARY}tail-of-the-file`).toString('base64');
      const out = r.text(`data: ${enc}\n`, {});
      expect(out).toContain(REDACTED);
      // What is left decodes without the canary.
      expect(Buffer.from(out.replace(/data: |\[REDACTED\]|\n/g, ''), 'base64').toString('utf8')).not.toContain(CANARY);
    }
  });

  it('the secret only made whole by JSON escaping is still found', () => {
    const out = r.json({ msg: CANARY }, {});
    expect(out).not.toContain(FORMS['json-escaped']);
    expect(out).not.toContain(CANARY);
  });
});

describe('Redactor: structure', () => {
  it('redacts string leaves under sensitive keys at any depth, and env entries, keeps references', () => {
    const counts: RedactionCounts = {};
    const out = r.object(
      {
        spec: {
          deep: { deeper: { clientSecret: 'abc-123-value', db: { password: ['p1', 'p2'] }, authToken: 'tok-value', apiKey: 'k' } },
          containers: [{ env: [{ name: 'AWS_SECRET_ACCESS_KEY', value: 'wJalr-value' }, { name: 'LOG_LEVEL', value: 'debug' }, { name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'creds', key: 'token' } } }] }],
          volumes: [{ secret: { secretName: 'my-tls' } }],
        },
        metadata: { managedFields: [{ manager: 'kubectl' }], annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"x":1}', keep: 'yes' } },
      },
      counts,
    ) as any;
    expect(out.spec.deep.deeper).toEqual({ clientSecret: REDACTED, db: { password: [REDACTED, REDACTED] }, authToken: REDACTED, apiKey: REDACTED });
    expect(out.spec.containers[0].env[0].value).toBe(REDACTED);
    expect(out.spec.containers[0].env[1].value).toBe('debug');
    expect(out.spec.containers[0].env[2].valueFrom.secretKeyRef).toEqual({ name: 'creds', key: 'token' });
    expect(out.spec.volumes[0].secret.secretName).toBe('my-tls');
    expect(out.metadata.managedFields).toBeUndefined();
    expect(out.metadata.annotations).toEqual({ keep: 'yes' });
    expect(counts['sensitive-key']).toBe(5);
    expect(counts['sensitive-env']).toBe(1);
  });

  it('never keeps Secret data, whatever its keys', () => {
    const counts: RedactionCounts = {};
    const out = r.object({ kind: 'Secret', data: { 'config.yaml': 'aGVsbG8=', plain: 'eA==' }, stringData: { x: 'y' } }, counts) as any;
    expect(out.data).toEqual({ 'config.yaml': REDACTED, plain: REDACTED });
    expect(out.stringData).toEqual({ x: REDACTED });
    expect(counts['secret-data']).toBe(3);
  });
});

describe('Redactor: patterns', () => {
  const jwt = `eyJhbGciOiJIUzI1NiJ9.${Buffer.from('{"sub":"someone"}').toString('base64url')}.c2lnbmF0dXJlLXZhbHVl`;
  const pem = '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7\nabcdef\n-----END RSA PRIVATE KEY-----';
  it.each([
    ['bearer', 'Authorization: Bearer abc.def-ghi_123', 'abc.def-ghi_123'],
    ['basic-auth', 'Authorization: Basic dXNlcjpwYXNzd29yZA==', 'dXNlcjpwYXNzd29yZA=='],
    ['jwt', `token in a log ${jwt} end`, jwt],
    ['pem-private-key', `key follows\n${pem}\nafter`, 'MIIEowIBAAKCAQEA7'],
    ['sensitive-assignment', 'connecting with password=hunter2hunter2 to db', 'hunter2hunter2'],
    ['sensitive-assignment', 'client_secret: "s3cr3t-value"', 's3cr3t-value'],
    ['sensitive-assignment', '--auth-token=abcdef123456 --verbose', 'abcdef123456'],
  ])('%s', (rule, text, hidden) => {
    const counts: RedactionCounts = {};
    const out = new Redactor({ secrets: [] }).text(text, counts);
    expect(out).not.toContain(hidden);
    expect(counts[rule as keyof RedactionCounts]).toBeGreaterThan(0);
  });

  it("the user's patterns, counted by number, never by text", () => {
    const re = compileExtraPattern('corp-[0-9]{6}');
    expect(re).toBeInstanceOf(RegExp);
    const counts: RedactionCounts = {};
    const out = new Redactor({ secrets: [], extra: [re as RegExp] }).text('user corp-123456 and corp-654321', counts);
    expect(out).toBe(`user ${REDACTED} and ${REDACTED}`);
    expect(counts).toEqual({ 'redact-extra-1': 2 });
    expect(JSON.stringify(counts)).not.toContain('corp');
  });

  it('refuses a pattern that does not compile or matches the empty text', () => {
    expect(compileExtraPattern('(unclosed')).toMatch(/not a valid regular expression/);
    expect(compileExtraPattern('x*')).toMatch(/empty/);
  });

  it('leaves ordinary text alone', () => {
    const text = [
      'I1201 12:00:00.000000 1 main.go:42] Starting node-exporter on :19100 (version=1.8.2, branch=HEAD)',
      'level=info msg="scrape ok" target=https://10.0.0.5:10250/metrics duration=12ms',
      'secretName: my-tls',
      'the token bucket refilled at 10/s; secret santa is on friday',
      // A Go type before a colon is not a key; a count of tokens is not a token.
      'E1201 reflector.go:158] Failed to watch *v1.Secret: failed to list *v1.Secret: secrets is forbidden: User "x" cannot list resource "secrets"',
      'model=qwen tokens=128 latency=12ms',
      'volumeMounts: [{"name":"config","mountPath":"/etc/config"}]',
      // kube-state-metrics
      'I1201 12:00:00.123456       1 server.go:199] "Started metrics server" metricsServerAddress="[::]:8080"',
      'I1201 12:00:00.223456       1 builder.go:282] "Active resources" activeStoreNames="configmaps,cronjobs,daemonsets,deployments,endpoints,secrets,services"',
      // node-exporter
      'ts=2026-12-01T00:00:00.000Z caller=tls_config.go:316 level=info msg="TLS is disabled." http2=false address=[::]:9100',
      'ts=2026-12-01T00:00:00.000Z caller=node_exporter.go:117 level=info collector=textfile',
      // loongcollector
      '[2026-12-01 00:00:00.123456]\t[info]\t[123]\t/build/loongcollector/config_manager.cpp:456\tload config:kube-system##1.0##cluster-insight',
      '2026-12-01 00:00:00 [WRN] [sender.go:88] token bucket exhausted, rate limiting for 1s',
      '2026-12-01 00:00:00 [INF] [flusher_sls.go:120] send to sls endpoint: cn-hangzhou-intranet.log.aliyuncs.com project: k8s-log-abc',
      'level=info msg="password policy updated" secretName=ack-tls tokenFile=/var/run/secrets/kubernetes.io/serviceaccount/token',
      'level=warn msg="Authorization header missing" path=/metrics remote=10.0.0.3:51234',
      'level=info msg="credential provider plugin not configured" passed=true bypass=false',
      'probe http://10.0.0.1:8080/healthz ok, https://[fe80::1]:6443/readyz ok',
    ].join('\n');
    const counts: RedactionCounts = {};
    expect(r.text(text, counts)).toBe(text);
    expect(counts).toEqual({});
    const obj = { metadata: { name: 'node-exporter', labels: { app: 'x' } }, spec: { replicas: 3, image: 'registry/x:1.0' } };
    expect(JSON.parse(r.json(obj, counts))).toEqual(obj);
    expect(counts).toEqual({});
  });
});

/** `text` through a fresh Redactor with no known secrets, with its counts. */
function scrub(text: string, redactor = new Redactor({ secrets: [] })): { out: string; counts: RedactionCounts } {
  const counts: RedactionCounts = {};
  return { out: redactor.text(text, counts), counts };
}

describe('Redactor: numbers under sensitive keys', () => {
  it('a number under a sensitive key or in a sensitive env entry is [REDACTED]; booleans and null are kept', () => {
    const counts: RedactionCounts = {};
    const out = r.object({ db: { password: 12345678, port: 5432, token: null, secret: false, passwordEnabled: true, apiKey: 10n } }, counts) as any;
    expect(out.db).toEqual({ password: REDACTED, port: 5432, token: null, secret: false, passwordEnabled: true, apiKey: REDACTED });
    expect(counts).toEqual({ 'sensitive-key': 2 });

    const envCounts: RedactionCounts = {};
    const env = r.object({ env: [{ name: 'DB_PASS', value: 42 }, { name: 'DB_PASS', value: true }, { name: 'DB_PORT', value: 5432 }] }, envCounts) as any;
    expect(env.env).toEqual([{ name: 'DB_PASS', value: REDACTED }, { name: 'DB_PASS', value: true }, { name: 'DB_PORT', value: 5432 }]);
    expect(envCounts).toEqual({ 'sensitive-env': 1 });

    // And as JSON: the number is gone, not only replaced in the tree.
    const json = r.json({ password: 12345678, replicas: 3 }, {});
    expect(json).not.toContain('12345678');
    expect(JSON.parse(json)).toEqual({ password: REDACTED, replicas: 3 });
  });
});

describe('Redactor: kubeconfig keys', () => {
  const key = Buffer.from('-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAclientkey\n-----END RSA PRIVATE KEY-----\n').toString('base64');
  const cert = Buffer.from('-----BEGIN CERTIFICATE-----\nMIIDclientcert\n-----END CERTIFICATE-----\n').toString('base64');
  const ca = Buffer.from('-----BEGIN CERTIFICATE-----\nMIIDcacert\n-----END CERTIFICATE-----\n').toString('base64');
  const kubeconfig = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'c', cluster: { server: 'https://10.0.0.1:6443', 'certificate-authority-data': ca } }],
    users: [{ name: 'admin', user: { 'client-certificate-data': cert, 'client-key-data': key } }],
  };

  it('client-key-data is redacted in text and as an object key; the public certificates are kept', () => {
    expect(isSensitiveName('client-key-data')).toBe(true);
    expect(isSensitiveName('client-certificate-data')).toBe(false);
    expect(isSensitiveName('certificate-authority-data')).toBe(false);

    const line = scrub(`loaded user admin client-key-data: ${key} from /root/.kube/config`);
    expect(line.out).toBe(`loaded user admin client-key-data: ${REDACTED} from /root/.kube/config`);
    expect(line.counts).toEqual({ 'sensitive-assignment': 1 });

    const counts: RedactionCounts = {};
    const out = r.object(kubeconfig, counts) as any;
    expect(out.users[0].user).toEqual({ 'client-certificate-data': cert, 'client-key-data': REDACTED });
    expect(out.clusters).toEqual(kubeconfig.clusters);
    expect(counts).toEqual({ 'sensitive-key': 1 });

    // The kubeconfig as YAML text (a ConfigMap's data, a log of `kubectl config view --raw`).
    const yaml = stringify(kubeconfig);
    const text = scrub(yaml);
    expect(text.out).not.toContain(key);
    expect(text.out).toContain(`client-key-data: ${REDACTED}`);
    expect(text.out).toContain(`client-certificate-data: ${cert}`);
    expect(text.out).toContain(`certificate-authority-data: ${ca}`);
    expect(text.out).toBe(yaml.replace(key, REDACTED));
    expect(text.counts).toEqual({ 'sensitive-assignment': 1 });
  });
});

describe('Redactor: argument pairs', () => {
  it.each([
    ['--token abc --verbose', `--token ${REDACTED} --verbose`],
    ['exec app -password "a b" -port 80', `exec app -password "${REDACTED}" -port 80`],
    ["exec app --client-secret 'x y' --region cn-hangzhou", `exec app --client-secret '${REDACTED}' --region cn-hangzhou`],
  ])('text %j', (text, expected) => {
    const { out, counts } = scrub(text);
    expect(out).toBe(expected);
    expect(counts).toEqual({ 'sensitive-argument': 1 });
  });

  it('JSON argument arrays: the value after a sensitive flag goes, reference flags and their values stay', () => {
    const counts: RedactionCounts = {};
    const out = r.object(
      {
        a: ['--token', 'abc'],
        b: ['--api-key', 'k', '--verbose'],
        c: ['--token-file', '/var/run/x', '--secret-name', 'foo'],
        // A flag followed by another flag has no value to hide.
        d: ['--token', '--verbose'],
      },
      counts,
    );
    expect(out).toEqual({ a: ['--token', REDACTED], b: ['--api-key', REDACTED, '--verbose'], c: ['--token-file', '/var/run/x', '--secret-name', 'foo'], d: ['--token', '--verbose'] });
    expect(counts).toEqual({ 'sensitive-argument': 2 });
  });

  it('reference flags in text are kept, next to a sensitive one that is not', () => {
    const { out, counts } = scrub('app --token-file /var/run/x --secret-name foo --token abc');
    expect(out).toBe(`app --token-file /var/run/x --secret-name foo --token ${REDACTED}`);
    expect(counts).toEqual({ 'sensitive-argument': 1 });
  });
});

describe('Redactor: URL user-info', () => {
  it.each([
    ['GET https://user:pa55@host/p done', `GET https://user:${REDACTED}@host/p done`],
    ['connecting to postgres://u:p%40ss@db:5432/x now', `connecting to postgres://u:${REDACTED}@db:5432/x now`],
    ['{"url":"postgres://u:p%40ss@db:5432/x","ok":true}', `{"url":"postgres://u:${REDACTED}@db:5432/x","ok":true}`],
  ])('%j', (text, expected) => {
    const { out, counts } = scrub(text);
    expect(out).toBe(expected);
    expect(counts).toEqual({ 'url-credentials': 1 });
  });

  it('in a JSON string leaf; a port or a user without a password is not a password', () => {
    const counts: RedactionCounts = {};
    const json = r.json({ spec: { url: 'https://user:pa55@host/p', probe: 'https://host:8443/x', mirror: 'https://user@host/y' } }, counts);
    expect(JSON.parse(json).spec).toEqual({ url: `https://user:${REDACTED}@host/p`, probe: 'https://host:8443/x', mirror: 'https://user@host/y' });
    expect(json).not.toContain('pa55');
    expect(counts).toEqual({ 'url-credentials': 1 });
    const plain = scrub('see https://host:8443/x and ssh://git@host:22/repo');
    expect(plain.out).toBe('see https://host:8443/x and ssh://git@host:22/repo');
    expect(plain.counts).toEqual({});
  });
});

describe('Redactor: quoted values with spaces', () => {
  it.each([
    ['db password: "a b c" next', `db password: "${REDACTED}" next`],
    ["password='x y' next", `password='${REDACTED}' next`],
    ['{"user":"bob","password":"a b","remember":true}', `{"user":"bob","password":"${REDACTED}","remember":true}`],
    // A JSON body logged inside a quoted field: its quotes are escaped.
    [
      'level=info msg="request body {\\"user\\":\\"bob\\",\\"password\\":\\"a b\\",\\"remember\\":true}" status=200',
      `level=info msg="request body {\\"user\\":\\"bob\\",\\"password\\":\\"${REDACTED}\\",\\"remember\\":true}" status=200`,
    ],
  ])('%j', (text, expected) => {
    const { out, counts } = scrub(text);
    expect(out).toBe(expected);
    expect(out).not.toMatch(/a b|x y/);
    expect(counts).toEqual({ 'sensitive-assignment': 1 });
  });
});

describe('Redactor: YAML block scalars', () => {
  it('the lines under a sensitive block key go, the key line, siblings and non-sensitive blocks stay', () => {
    const yaml = [
      'config:',
      '  password: |',
      '    line one',
      '    line two',
      '  user: bob',
      'token: >-',
      '  folded',
      '  more',
      'script: |',
      '  echo hi',
      '  run',
      'users:',
      '- password: |',
      '    listsecret',
      '  name: bob',
      '- name: alice',
      '  nested:',
      '    deep:',
      '      apiKey: |',
      '        k1',
      '',
      '        k2',
      '      kept: yes',
      'spec:',
      '  users:',
      '    - password: |',
      '        listsecret2',
      '      name: carol',
      'last: 1',
      '',
    ].join('\n');
    const { out, counts } = scrub(yaml);
    expect(out).toBe(
      [
        'config:',
        '  password: |',
        `    ${REDACTED}`,
        '  user: bob',
        'token: >-',
        `  ${REDACTED}`,
        'script: |',
        '  echo hi',
        '  run',
        'users:',
        '- password: |',
        `    ${REDACTED}`,
        '  name: bob',
        '- name: alice',
        '  nested:',
        '    deep:',
        '      apiKey: |',
        `        ${REDACTED}`,
        '      kept: yes',
        'spec:',
        '  users:',
        '    - password: |',
        `        ${REDACTED}`,
        '      name: carol',
        'last: 1',
        '',
      ].join('\n'),
    );
    for (const hidden of ['line one', 'line two', 'folded', 'more', 'listsecret', 'k1', 'k2']) expect(out).not.toContain(hidden);
    expect(counts).toEqual({ 'sensitive-block': 5 });
    // Still YAML, with the same shape.
    expect(parse(out)).toEqual({
      config: { password: `${REDACTED}\n`, user: 'bob' },
      token: REDACTED,
      script: 'echo hi\nrun\n',
      users: [{ password: `${REDACTED}\n`, name: 'bob' }, { name: 'alice', nested: { deep: { apiKey: `${REDACTED}\n`, kept: 'yes' } } }],
      spec: { users: [{ password: `${REDACTED}\n`, name: 'carol' }] },
      last: 1,
    });
  });

  it('a block at the very end of the text, without a final line break', () => {
    const { out, counts } = scrub('password: |-\n  x\n  y');
    expect(out).toBe(`password: |-\n  ${REDACTED}`);
    expect(counts).toEqual({ 'sensitive-block': 1 });
  });
});

describe('Redactor: which names hold a credential', () => {
  const SENSITIVE = ['pass', 'db_pass', 'DB_PASS', 'api_key', 'apiKey', 'APIKey', 'x-auth-token', 'ALIBABA_CLOUD_ACCESS_KEY_SECRET', 'privateKey'];
  const NOT_SENSITIVE = ['bypass', 'compass', 'passed', 'passive', 'secretName', 'secretKeyRef', 'tokenFile', 'password_file', 'accessKeyId'];

  it.each(SENSITIVE)('%s holds one: as a name, in `name=value` text and as an object key', (name) => {
    expect(isSensitiveName(name)).toBe(true);
    const { out, counts } = scrub(`x ${name}=v4lue-here y`);
    expect(out).toBe(`x ${name}=${REDACTED} y`);
    expect(counts).toEqual({ 'sensitive-assignment': 1 });
    const objCounts: RedactionCounts = {};
    expect(r.object({ [name]: 'v4lue-here' }, objCounts)).toEqual({ [name]: REDACTED });
    expect(objCounts).toEqual({ 'sensitive-key': 1 });
  });

  it.each(NOT_SENSITIVE)('%s does not: as a name, in `name=value` text and as an object key', (name) => {
    expect(isSensitiveName(name)).toBe(false);
    const { out, counts } = scrub(`x ${name}=v4lue-here y`);
    expect(out).toBe(`x ${name}=v4lue-here y`);
    expect(counts).toEqual({});
    const objCounts: RedactionCounts = {};
    expect(r.object({ [name]: 'v4lue-here' }, objCounts)).toEqual({ [name]: 'v4lue-here' });
    expect(objCounts).toEqual({});
  });
});

describe('Redactor: short known secrets', () => {
  it('4 to 7 characters: found as a whole word only; under 4: counted as unsearchable', () => {
    expect(SHORT_SECRET_MIN).toBe(4);
    const rs = new Redactor({ secrets: ['hunt2', 'hunter2', 'abc', 'xy', ''] });
    expect(rs.unsearchable).toBe(2);
    for (const [text, expected] of [
      ['user hunt2 said', `user ${REDACTED} said`],
      ['"hunt2"', `"${REDACTED}"`],
      ['q=hunt2&x=1', `q=${REDACTED}&x=1`],
      ['login hunter2 ok', `login ${REDACTED} ok`],
    ]) {
      const { out, counts } = scrub(text!, rs);
      expect(out).toBe(expected);
      expect(counts).toEqual({ 'known-secret': 1 });
    }
    // Inside longer words they are left alone, and the unsearchable ones are not searched for.
    const kept = 'hunt2er xhunt2 hunt2_x hunter22 abc xy';
    expect(scrub(kept, rs)).toEqual({ out: kept, counts: {} });
    // From 8 characters a secret is found anywhere, even inside a word.
    expect(scrub('xhunter22x', new Redactor({ secrets: ['hunter22'] })).out).toBe(`x${REDACTED}x`);
  });
});

describe('Redactor: a known secret in wrapped base64', () => {
  // Longer than one 76-column line once encoded, so no line holds a whole encoded form of it.
  const SECRET = `Wr/ap+${randomBytes(24).toString('hex')}="with spaces"&more`;
  const rw = new Redactor({ secrets: [SECRET] });
  const BEFORE = 'apiVersion: v1\nkind: Config\nsecret: ';
  const AFTER = '\nand the rest of the file, long enough for several more lines of base64 after the secret.\n'.repeat(3);
  const layouts = [
    { name: 'a YAML block, indented', head: 'data: |\n', indent: '    ', brk: '\n', tail: 'next: kept\n' },
    { name: 'PEM-style lines, CRLF', head: 'begin\r\n', indent: '', brk: '\r\n', tail: 'end\r\n' },
    { name: 'a JSON string, \\n escapes', head: '{"data":"', indent: '', brk: '\\n', tail: '","next":"kept"}' },
    { name: 'a JSON string, \\r\\n escapes, indented', head: '{"data":"cert:\\r\\n', indent: '  ', brk: '\\r\\n', tail: '"}' },
  ];
  const cases = [64, 76].flatMap((width) => layouts.flatMap((layout) => [0, 1, 2, 3, 4, 5].map((prefix) => ({ width, prefix, ...layout }))));

  it.each(cases)('$name, wrapped at $width, after $prefix more characters', ({ width, prefix, head, indent, brk, tail }) => {
    const plain = 'x'.repeat(prefix) + BEFORE + SECRET + AFTER;
    const at = Buffer.byteLength('x'.repeat(prefix) + BEFORE);
    const len = Buffer.byteLength(SECRET);
    const b64 = Buffer.from(plain).toString('base64');
    const lines = b64.match(new RegExp(`.{1,${width}}`, 'g'))!;
    const doc = head + lines.map((l) => indent + l).join(brk) + brk + tail;
    // Only the joined text has the secret: no form of it is whole in the document.
    for (const f of secretForms(SECRET)) expect(doc).not.toContain(f);

    const counts: RedactionCounts = {};
    const out = rw.text(doc, counts);
    expect(counts).toEqual({ 'known-secret': 1 });
    expect(out.split(REDACTED)).toHaveLength(2);
    expect(out.startsWith(head) && out.endsWith(brk + tail)).toBe(true);

    // What is left of the base64: cut only around the secret (at most 2 of its bytes on each side,
    // which a whole base64 group does not hold), and nothing of the text around it.
    const body = out.slice(head.length, out.length - tail.length).split(brk).map((l) => l.slice(indent.length)).join('');
    const [lead, trail] = body.split(REDACTED) as [string, string];
    expect(b64.startsWith(lead) && b64.endsWith(trail)).toBe(true);
    expect(lead.length).toBeGreaterThanOrEqual(Math.floor((4 * at) / 3));
    expect(lead.length).toBeLessThanOrEqual(Math.ceil((4 * (at + 2)) / 3));
    expect(trail.length).toBeGreaterThanOrEqual(b64.length - Math.ceil((4 * (at + len)) / 3));
    expect(trail.length).toBeLessThanOrEqual(b64.length - Math.floor((4 * (at + len - 2)) / 3));
    for (const piece of [lead, trail]) for (let off = 0; off < 4; off++) expect(Buffer.from(piece.slice(off), 'base64').toString('latin1')).not.toContain(SECRET.slice(2, -2));

    // The lines the secret is not on keep their layout, line breaks and indentation included.
    const headLines = head.split(brk).length - 1;
    const first = headLines + Math.floor(Math.floor((4 * at) / 3) / width);
    const last = headLines + Math.floor((Math.ceil((4 * (at + len)) / 3) - 1) / width);
    const inLines = doc.split(brk);
    const outLines = out.split(brk);
    expect(last).toBeGreaterThan(first);
    expect(outLines.slice(0, first)).toEqual(inLines.slice(0, first));
    const after = inLines.length - last - 1;
    expect(outLines.slice(outLines.length - after)).toEqual(inLines.slice(inLines.length - after));
    expect(outLines.length).toBeGreaterThanOrEqual(inLines.length - (last - first));
  });
});

describe('secretParts', () => {
  it('a multi-line Secret value yields each line and each value', () => {
    const env = 'A=1\nDB_PASSWORD=longvalue123\nLICENSE_CODE=ZX81-4471-QQ09\n';
    const parts = secretParts(env);
    expect(parts[0]).toBe(env);
    expect(parts).toEqual(expect.arrayContaining(['DB_PASSWORD=longvalue123', 'longvalue123', 'LICENSE_CODE=ZX81-4471-QQ09', 'ZX81-4471-QQ09']));
    // Lines too short to search for are left out.
    expect(parts).not.toContain('A=1');
    expect(parts).not.toContain('1');

    const ini = '[db]\r\nhost = db.internal\r\npassword = "s3cr3t-pw"\r\n';
    expect(secretParts(ini)).toEqual(expect.arrayContaining([ini, 'password = "s3cr3t-pw"', 's3cr3t-pw']));
    // Values that say nothing secret on their own are not searched for alone: every 5432 would go.
    const plain = secretParts('[db]\nPORT=5432\nhost = db.internal\nFEATURE=true\n');
    for (const v of ['5432', 'db.internal', 'true', '[db]']) expect(plain).not.toContain(v);
    expect(secretParts('one-line-value')).toEqual(['one-line-value']);
  });

  it('a Redactor built from the parts removes a line, and a value, printed alone in a log', () => {
    const env = 'A=1\nDB_PASSWORD=longvalue123\nLICENSE_CODE=ZX81-4471-QQ09\n';
    const log = 'loaded LICENSE_CODE=ZX81-4471-QQ09\nlicense ZX81-4471-QQ09 accepted; db longvalue123 ok\n';
    // The whole value alone is not in the log.
    expect(scrub(log, new Redactor({ secrets: [env] }))).toEqual({ out: log, counts: {} });
    const { out, counts } = scrub(log, new Redactor({ secrets: secretParts(env) }));
    expect(out).toBe(`loaded ${REDACTED}\nlicense ${REDACTED} accepted; db ${REDACTED} ok\n`);
    expect(counts).toEqual({ 'known-secret': 3 });
  });
});

describe('Redactor: bounded patterns', () => {
  const rb = new Redactor({ secrets: ['known-secret-value-1'] });
  it.each([
    ["'token' x 100000", 'token'.repeat(100_000)],
    ["'a:' x 100000", 'a:'.repeat(100_000)],
    ['a PEM header and no end', `-----BEGIN PRIVATE KEY-----${'x'.repeat(200_000)}`],
    ["'eyJ' and 100000 more", `eyJ${'a'.repeat(100_000)}`],
    ["'password=' x 50000", 'password='.repeat(50_000)],
    ['100000 one-space block lines', `password: |\n${' x\n'.repeat(100_000)}`],
    ['a JSON-escaped quote never closed', `\\"password\\":\\"${'a'.repeat(100_000)}`],
    // Many starts, each of which an unbounded quantifier would scan to the end of the text.
    ["'eyJaa-' x 20000", 'eyJaa-'.repeat(20_000)],
    ["'pass.' x 40000", 'pass.'.repeat(40_000)],
  ])('%s finishes', (_name, input) => {
    expect(() => runWithin(5_000, () => rb.text(input, {}))).not.toThrow();
  });

  it("a catastrophic user pattern is stopped by the deadline", () => {
    const re = compileExtraPattern('(a+)+$');
    expect(re).toBeInstanceOf(RegExp);
    const ru = new Redactor({ secrets: [], extra: [re as RegExp] });
    expect(() => runWithin(200, () => ru.text(`${'a'.repeat(40)}!`, {}))).toThrow(DeadlineExceeded);
  });
});

describe('Redactor: idempotence', () => {
  const pem = '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7\nabcdef\n-----END RSA PRIVATE KEY-----';
  const jwt = `eyJhbGciOiJIUzI1NiJ9.${Buffer.from('{"sub":"someone"}').toString('base64url')}.c2lnbmF0dXJlLXZhbHVl`;
  const wrapped = `data: |\n${Buffer.from(`prefix ${CANARY} suffix and more`).toString('base64').match(/.{1,16}/g)!.join('\n')}\n`;
  const extra = compileExtraPattern('corp-[0-9]{6}') as RegExp;
  const ri = new Redactor({ secrets: [CANARY, 'hunt2'], extra: [extra] });
  const TEXT: Array<[RedactionRule, string]> = [
    ['known-secret', `value ${CANARY} and hunt2`],
    ['known-secret', wrapped],
    ['bearer', 'Authorization: Bearer abc.def-ghi_123'],
    ['basic-auth', 'Authorization: Basic dXNlcjpwYXNzd29yZA=='],
    ['authorization', 'Authorization: Token abc123def and authorization=APPCODE k9k9k9'],
    ['jwt', `token in a log ${jwt} end`],
    ['url-credentials', 'GET https://user:pa55@host/p'],
    ['sensitive-assignment', 'password: "a b" token=abc secret=\'x y\' {\\"apiKey\\":\\"k v\\"}'],
    ['sensitive-block', 'users:\n- password: |\n    s1\n  name: bob\ntoken: >-\n  t1\n'],
    ['pem-private-key', `key follows\n${pem}\nafter`],
    ['sensitive-argument', '--token abc -password "a b"'],
    ['redact-extra-1', 'user corp-123456'],
  ];
  const OBJECTS: Array<[RedactionRule, unknown]> = [
    ['sensitive-key', { spec: { password: 'p', apiKey: 1234 } }],
    ['sensitive-env', { env: [{ name: 'DB_PASS', value: 'x' }, { name: 'TOKEN', value: 42 }] }],
    ['sensitive-argument', { args: ['--token', 'abc'] }],
    ['secret-data', { kind: 'Secret', data: { a: 'eA==' }, stringData: { b: 'y' } }],
  ];

  it('covers every built-in rule, and the user\'s', () => {
    expect(new Set([...TEXT, ...OBJECTS].map(([rule]) => rule))).toEqual(new Set([...BUILT_IN_RULES, 'redact-extra-1']));
  });

  it.each(TEXT)('text after %s: redacting again changes and counts nothing', (rule, text) => {
    const first: RedactionCounts = {};
    const once = ri.text(text, first);
    expect(first[rule]).toBeGreaterThan(0);
    expect(once).not.toBe(text);
    const again: RedactionCounts = {};
    expect(ri.text(once, again)).toBe(once);
    expect(again).toEqual({});
  });

  it.each(OBJECTS)('an object after %s: redacting again changes and counts nothing', (rule, obj) => {
    const first: RedactionCounts = {};
    const once = ri.object(obj, first);
    expect(first[rule]).toBeGreaterThan(0);
    const again: RedactionCounts = {};
    expect(ri.object(once, again)).toEqual(once);
    expect(again).toEqual({});
    const json: RedactionCounts = {};
    const text = ri.json(once, json);
    expect(JSON.parse(text)).toEqual(once);
    expect(json).toEqual({});
  });
});

describe('Redactor: second review', () => {
  const plain = new Redactor({ secrets: [] });

  it('a sensitive name covers the map under it, but not a pointer to a credential', () => {
    const out = plain.object({
      a: { password: { value: 'hunter2-x1' } },
      c: { credentials: { key: 'K-abc-123' } },
      d: { credentials: [{ name: 'primary', value: 'cv-abc-123' }] },
      f: { secret: { key: 'hs-abc-123' } },
      vol: { secret: { secretName: 'my-tls', defaultMode: 420, items: [{ key: 'tls.crt', path: 'tls.crt' }] } },
    }, {});
    expect(JSON.stringify(out)).not.toMatch(/hunter2-x1|K-abc-123|cv-abc-123|hs-abc-123/);
    expect((out as any).vol).toEqual({ secret: { secretName: 'my-tls', defaultMode: 420, items: [{ key: 'tls.crt', path: 'tls.crt' }] } });
  });

  it.each([
    ['{"Authorization":"Token zzz123"} as a header map', () => JSON.stringify(plain.object({ headers: { Authorization: 'Token zzz123' } }, {})), '{"headers":{"Authorization":"Token [REDACTED]"}}'],
    ['a bare credential', () => plain.text('Authorization: ghp_abcdef0123456789', {}), `Authorization: ${REDACTED}`],
    ["Go's header map", () => plain.text('map[Authorization:[Token abc123def]]', {}), `map[Authorization:[Token ${REDACTED}]]`],
    ['prose stays', () => plain.text('msg="Authorization: denied by policy" authorization=required for x', {}), 'msg="Authorization: denied by policy" authorization=required for x'],
    ['docker auth in text', () => plain.text('{"auths":{"r":{"auth":"dXNlcjpwYXNzd29yZA=="}}}', {}), `{"auths":{"r":{"auth":"${REDACTED}"}}}`],
    ['names run together', () => plain.text('keypass=abc123 storepass: xyz789 SECRETKEY=s1s1s1 passcode=9911', {}), `keypass=${REDACTED} storepass: ${REDACTED} SECRETKEY=${REDACTED} passcode=${REDACTED}`],
    ['flow sequences and templates', () => plain.text('passwords: [a, b]\nsecret: {{ .Values.secret }}\ntoken: true\npassword: null', {}), `passwords: ${REDACTED}\nsecret: {{ .Values.secret }}\ntoken: true\npassword: null`],
  ])('%s', (_name, run, expected) => {
    expect(run()).toBe(expected);
  });

  it('a BEGIN mentioned in prose takes nothing; a key cut at either end loses its body lines only', () => {
    const prose = `INFO tls: expecting "-----BEGIN PRIVATE KEY-----" header\n${'ordinary line\n'.repeat(1000)}`;
    expect(plain.text(prose, {})).toBe(prose);
    const body = 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7\n';
    expect(plain.text(`a\n-----BEGIN PRIVATE KEY-----\n${body}next line\n`, {})).toBe(`a\n-----BEGIN PRIVATE KEY-----${REDACTED}-----END PRIVATE KEY-----\nnext line\n`);
    expect(plain.text(`a\n${body}-----END PRIVATE KEY-----\nafter`, {})).toBe(`a\n-----BEGIN PRIVATE KEY-----${REDACTED}-----END PRIVATE KEY-----\nafter`);
    // A block longer than 16 KiB is still one block, and what follows it stays.
    const long = `-----BEGIN PRIVATE KEY-----\n${`${'QUJD'.repeat(16)}\n`.repeat(400)}-----END PRIVATE KEY-----\nafter`;
    expect(plain.text(long, {})).toBe(`-----BEGIN PRIVATE KEY-----${REDACTED}-----END PRIVATE KEY-----\nafter`);
  });

  it('an END after many lines of numbers or base64 is found in linear time', () => {
    const nums = `${Array.from({ length: 30_000 }, (_, i) => String(i * 7919)).join('\n')}\n-----END PRIVATE KEY-----\n`;
    const b64 = `${`${'QkFTRTY0'.repeat(8)}\n`.repeat(8000)}-----END PRIVATE KEY-----\n`;
    for (const t of [nums, b64]) expect(() => runWithin(5000, () => plain.text(t, {}))).not.toThrow();
  });

  it('many secrets and one of many KiB compile and are found', () => {
    const big = Array.from({ length: 300 }, (_, i) => `${i}-${'B'.repeat(60)}`).join('\n');
    const r2 = new Redactor({ secrets: [big, ...secretParts(big), ...Array.from({ length: 300 }, (_, i) => `secret-value-number-${i}-xyz`)] });
    expect(r2.text(`x ${big.split('\n')[9]} y secret-value-number-299-xyz z`, {})).toBe(`x ${REDACTED} y ${REDACTED} z`);
  });

  it('an env value with ` #` in it is learned whole too', () => {
    expect(secretParts('DB_PASSWORD=pass #1word\n')).toEqual(expect.arrayContaining(['pass #1word']));
  });
});

describe('Redactor: third review', () => {
  const plain = new Redactor({ secrets: [] });
  const body = Array.from({ length: 12 }, (_, i) => `MIIE${String(i).padStart(2, '0')}${'QWxhZGRpbjpvcGVu'.repeat(3)}xy`);
  const leaked = (out: string) => body.filter((l) => out.includes(l.slice(4, 40)));
  const key = `-----BEGIN PRIVATE KEY-----\n${body.join('\n')}\n-----END PRIVATE KEY-----\n`;
  const pgp = `-----BEGIN PGP PRIVATE KEY BLOCK-----\nVersion: GnuPG v2\n\n${body.join('\n')}\n=Ab12\n-----END PGP PRIVATE KEY BLOCK-----\n`;

  it.each([
    ['a PGP block', pgp],
    ['a PGP block cut at the end', pgp.slice(0, 400)],
    ['a PGP block cut at the start', pgp.slice(120)],
    ['a key as a JSON string cut at the start', JSON.stringify(key).slice(200)],
    ['a key as a JSON string cut at the end', JSON.stringify(key).slice(0, 500)],
    ['a key double-escaped, cut', JSON.stringify(JSON.stringify(key)).slice(0, 500)],
    ['each line with a timestamp, cut', key.slice(0, 500).split('\n').map((l, i) => `2026-12-01T00:00:0${i % 10}.000Z ${l}`).join('\n')],
    ['each line with a pod prefix, cut', key.slice(0, 500).split('\n').map((l) => `[pod/x/c] ${l}`).join('\n')],
    ['joined by spaces, cut', key.replace(/\n/g, ' ').slice(0, 500)],
    ['joined by <br>, cut', key.replace(/\n/g, '<br>').slice(0, 500)],
    ['blank lines between, cut at the start', key.replace(/\n/g, '\n\n').slice(300)],
    ['`key: ` before BEGIN, no END', `key: -----BEGIN PRIVATE KEY-----\n${body.join('\n')}\n`],
    ['the last line running into END, cut at the start', `${body.slice(-3).join('\n')}-----END PRIVATE KEY-----`],
    ['a body of 200 KiB', `-----BEGIN PGP PRIVATE KEY BLOCK-----\n${`${body[0]}\n`.repeat(3200)}-----END PGP PRIVATE KEY BLOCK-----\nafter`],
  ])('%s leaves no body line', (_name, text) => {
    expect(leaked(plain.text(text, {}))).toEqual([]);
  });

  it('BEGIN markers without line breaks, or header lines after each, stay linear', () => {
    for (const t of ['-----BEGIN PRIVATE KEY-----'.repeat(40_000), 'X: -----BEGIN PRIVATE KEY-----\n'.repeat(35_000), 'AAAA\n-----END PRIVATE KEY-----\n'.repeat(35_000)]) {
      expect(() => runWithin(5000, () => plain.text(t, {}))).not.toThrow();
    }
  });

  it.each([
    ['{"Authorization":["Token abc123def456"]}', `{"Authorization":["Token ${REDACTED}"]}`],
    ['{\\"Authorization\\":\\"abc123def456ghi789jkl\\"}', `{\\"Authorization\\":\\"${REDACTED}\\"}`],
    ['Authorization: Token abcdefghijklmnop', `Authorization: Token ${REDACTED}`],
    ['Authorization: SSWS abcdefghijklmnopqrstuvwxyzABCDEF', `Authorization: SSWS ${REDACTED}`],
    ['authorization: basic dXNlcjpwYXNz', `authorization: basic ${REDACTED}`],
  ])('Authorization %j', (text, expected) => {
    expect(plain.text(text, {})).toBe(expected);
  });

  it('Authorization in objects: probe headers, X- headers, lists', () => {
    const out = plain.object({ a: { httpHeaders: [{ name: 'Authorization', value: 'Token abc123def456' }] }, b: { 'X-Authorization': 'Token abc123def456' }, c: { authorization: ['Token abc123def456'] } }, {});
    expect(JSON.stringify(out)).not.toContain('abc123def456');
    expect((out as any).b['X-Authorization']).toBe(`Token ${REDACTED}`);
  });

  it('a pointer in a map under a sensitive name does not uncover its siblings', () => {
    const out = plain.object({ password: { secretName: 'x', value: 'plainPass123' }, token: { path: '/run/t', value: 'plaintoken123' }, auth: { caFile: '/ca', key: 'rawkeymaterial123' } }, {});
    expect(JSON.stringify(out)).not.toMatch(/plainPass123|plaintoken123|rawkeymaterial123/);
    expect((out as any).password.secretName).toBe('x');
  });

  it.each(['sharedKey', 'masterKey', 'hmacKey', 'clientKey', 'AZURE_STORAGE_ACCOUNT_KEY', 'connectionString', 'dsn', 'bindPW'])('%s is sensitive', (name) => {
    expect(isSensitiveName(name)).toBe(true);
  });

  it('a secret over 1 KiB is found URL-encoded and JSON-escaped too', () => {
    const big = `{"type":"service_account","private_key":"${'K'.repeat(1200)}\n"}`;
    const r2 = new Redactor({ secrets: [big] });
    for (const form of [encodeURIComponent(big), JSON.stringify(big).slice(1, -1)]) expect(r2.text(`x ${form} y`, {})).toBe(`x ${REDACTED} y`);
  });
});
