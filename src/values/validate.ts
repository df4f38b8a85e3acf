/**
 * The checks every chart value passes before anything touches the cluster: required values present,
 * each shaped like what the chart and Alibaba Cloud expect, loosely typed ones normalised. No I/O.
 */
import { ENV, REQUIRED_VALUES } from '../defaults.js';
import { InsightError } from '../errors.js';
import { PROMETHEUS_INSTANCE_PATTERN } from '../cloud/credentials.js';
import { redact, Secret } from '../secret.js';
import { judgeRegion } from '../cloud/regions.js';
import { cloneValue, getPath, SECRET_PATH, setPath, type Values } from './tree.js';
import { textOf } from '../text.js';

export interface ValidateOptions {
  allowUnknownRegion?: boolean;
  /** Install needs every required value; upgrade validates what the merged values hold. */
  requireAll?: boolean;
  release?: string;
  namespace?: string;
}

/** Where a missing value can come from, for the error message. */
function sourceHint(path: string): string {
  const r = REQUIRED_VALUES.find((x) => x.path === path);
  if (path === SECRET_PATH) return `${ENV.accessKeySecret}, --access-key-secret-stdin, -f or the prompt`;
  if (path === 'accessKeyID') return `--access-key-id or ${ENV.accessKeyId}`;
  return r ? `--${r.flag}` : `--set ${path}=...`;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const RELEASE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const SLS_PROJECT = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;
// The chart's machine group is custom-kubernetes-<clusterID>-entity-collector; SLS machine-group names
// are at most 128 characters, which leaves 93 for the id.
const MACHINE_GROUP_OVERHEAD = 'custom-kubernetes-'.length + '-entity-collector'.length;
const MAX_CLUSTER_ID = 128 - MACHINE_GROUP_OVERHEAD;
// A pasted value with a control character (a newline from `cat`, a tab) ends up in a ConfigMap verbatim.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'bigint' ? String(v) : undefined);

/** Show a user value in an error: quoted, cut short, and never the secret. */
const show = (v: unknown) => JSON.stringify(redact(String(v)).slice(0, 60));

/**
 * Normalise values the user typed loosely (aliUid as a number, `net: intranet`) and list every problem.
 * Returns the normalised values; throws one InsightError (exit 2) naming all problems at once.
 */
export function validateValues(values: Values, opts: ValidateOptions = {}): Values {
  const v = cloneValue(values) as Values;
  const problems: string[] = [];
  const missing: string[] = [];

  if (opts.requireAll !== false) {
    for (const r of REQUIRED_VALUES) {
      const x = getPath(v, r.path);
      const empty = x === undefined || x === null || (typeof x === 'string' && x.trim() === '') || (x instanceof Secret && x.reveal().trim() === '');
      if (empty) missing.push(`${r.path} (${sourceHint(r.path)})`);
    }
  }
  // Every required value is text: `clusterID: true` or a list would reach the chart as something else.
  for (const r of REQUIRED_VALUES) {
    if (r.path === SECRET_PATH) continue; // checked below, without ever showing it
    const x = getPath(v, r.path);
    if (x === undefined || x === null || typeof x === 'string' || typeof x === 'number' || x instanceof Secret) continue;
    problems.push(`${r.path} must be a string, not a ${Array.isArray(x) ? 'list' : typeof x === 'object' ? 'map' : typeof x}`);
  }

  // aliUid: a 16-digit number; YAML reads it as a float and loses digits unless quoted (why the doc says --set-string).
  const uid = getPath(v, 'aliUid');
  if (typeof uid === 'number') {
    if (!Number.isSafeInteger(uid)) problems.push(`aliUid ${uid} lost digits as a YAML number: quote it ("${'1234567890123456'}") or use --ali-uid`);
    else setPath(v, 'aliUid', String(uid));
  } else if (uid !== undefined && uid !== null && uid !== '') {
    if (typeof uid !== 'string' || !/^\d{5,20}$/.test(uid.trim())) problems.push(`aliUid ${show(uid)} is not an Alibaba Cloud account UID (digits only, e.g. 1234567890123456)`);
    else setPath(v, 'aliUid', uid.trim());
  }

  const akid = str(getPath(v, 'accessKeyID'));
  if (akid) {
    if (akid.startsWith('STS.')) problems.push('accessKeyID is a temporary STS key (STS.…): the collector needs a RAM user\'s permanent AccessKey');
    else if (!/^[A-Za-z0-9]{12,40}$/.test(akid.trim())) problems.push(`accessKeyID ${show(akid)} does not look like an AccessKey ID (letters and digits, usually LTAI…)`);
    else setPath(v, 'accessKeyID', akid.trim());
  }
  const secret = getPath(v, SECRET_PATH);
  if (typeof secret === 'string' && secret !== '') setPath(v, SECRET_PATH, new Secret(secret));
  else if (secret !== undefined && secret !== null && secret !== '' && !(secret instanceof Secret)) {
    // A list, map, number or boolean would reach the chart unredacted: refuse it, and never show it.
    problems.push(`accessKeySecret must be a string, not a ${Array.isArray(secret) ? 'list' : typeof secret === 'object' ? 'map' : typeof secret}`);
    setPath(v, SECRET_PATH, new Secret(JSON.stringify(secret)));
  }
  const sv = getPath(v, SECRET_PATH);
  if (sv instanceof Secret) {
    const s = sv.reveal().trim();
    // Messages never show the value.
    if (s !== sv.reveal()) setPath(v, SECRET_PATH, new Secret(s));
    if (s && !/^[A-Za-z0-9]{16,64}$/.test(s)) problems.push('accessKeySecret does not look like an AccessKey secret (16-64 letters and digits)');
    if (s && akid && s === akid.trim()) problems.push('accessKeySecret equals accessKeyID: the secret was given twice instead of the ID');
  }

  const region = str(getPath(v, 'region'));
  if (region) {
    const r = judgeRegion(region, Boolean(opts.allowUnknownRegion));
    if (!r.ok && r.reason === 'malformed') problems.push(`region ${show(r.id)} is not shaped like a region id (e.g. cn-hangzhou)`);
    if (!r.ok && r.reason === 'unknown') problems.push(`unknown region ${show(r.id)}${r.suggestion ? ` (did you mean ${r.suggestion}?)` : ''}; pass --allow-unknown-region for a region newer than this tool`);
    setPath(v, 'region', r.id);
  }

  const cid = str(getPath(v, 'clusterID'));
  if (cid) {
    if (!DNS_LABEL.test(cid)) problems.push(`clusterID ${show(cid)} must be lowercase letters, digits and '-', starting and ending with a letter or digit (it names the Kubernetes resource custom-kubernetes-<clusterID>-entity-collector and the SLS machine group)`);
    else if (cid.length > MAX_CLUSTER_ID) problems.push(`clusterID is ${cid.length} characters; at most ${MAX_CLUSTER_ID} fit the SLS machine-group name (128)`);
  }

  for (const key of ['clusterName', 'workspace', 'operator.prometheus.prometheusInstanceID'] as const) {
    const x = str(getPath(v, key));
    if (x === undefined) continue;
    if (CONTROL.test(x)) problems.push(`${key} contains a control character (a newline or tab pasted with it?)`);
    else if (x.trim() !== x) setPath(v, key, x.trim());
    if (x.length > 128) problems.push(`${key} is ${x.length} characters (at most 128)`);
  }
  const ws = str(getPath(v, 'workspace'));
  if (ws && /\s/.test(ws.trim())) problems.push(`workspace ${show(ws)} contains spaces: use the workspace name (e.g. my-workspace), not its display title`);
  const pid = str(getPath(v, 'operator.prometheus.prometheusInstanceID'));
  if (pid && /\s/.test(pid.trim())) problems.push(`operator.prometheus.prometheusInstanceID ${show(pid)} contains spaces`);
  else if (pid && !PROMETHEUS_INSTANCE_PATTERN.test(pid.trim())) problems.push(`operator.prometheus.prometheusInstanceID ${show(pid)} is not an instance id (letters, digits, '-', '_', '.', ':'; copy it from the console)`);

  const project = str(getPath(v, 'entityCollector.projectName'));
  if (project && !SLS_PROJECT.test(project.trim())) {
    problems.push(`entityCollector.projectName ${show(project)} is not an SLS project name (3-63 lowercase letters, digits and '-', starting and ending with a letter or digit)`);
  }

  const net = getPath(v, 'net');
  if (net !== undefined && net !== null) {
    const n = textOf(net).toLowerCase();
    if (n === 'internet') setPath(v, 'net', 'Internet');
    else if (n === 'intranet') setPath(v, 'net', 'Intranet');
    else problems.push(`net ${show(net)} must be Internet or Intranet`);
  }

  if (opts.release !== undefined && (!RELEASE_NAME.test(opts.release) || opts.release.length > 53)) {
    problems.push(`release name ${show(opts.release)} is not a valid helm release name (lowercase letters, digits, '-' and '.', at most 53)`);
  }
  if (opts.namespace !== undefined && (!DNS_LABEL.test(opts.namespace) || opts.namespace.length > 63)) {
    problems.push(`namespace ${show(opts.namespace)} is not a valid Kubernetes namespace name (lowercase letters, digits and '-', at most 63)`);
  }

  if (missing.length || problems.length) {
    const parts: string[] = [];
    if (missing.length) parts.push(`missing required value${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}`);
    parts.push(...problems);
    throw new InsightError('invalid-input', parts.join('; '), {
      hint: missing.length
        ? 'Give each value as a flag, in a values file (-f), or with --set; see `kubectl insight install --help`. Nothing was changed.'
        : 'Fix the values above and run the command again. Nothing was changed.',
      details: { missing: missing.map((m) => m.split(' ')[0]), problems },
    });
  }
  return v;
}
