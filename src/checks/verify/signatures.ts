/**
 * What the collector writes to its own log when sending fails, and what each means. loongcollector
 * (and ilogtail before it) logs a send failure with the SLS error code it got back, and raises alarms
 * such as SEND_DATA_FAIL_ALARM when it discards data. Patterns match the code as a word, so a line is
 * recognised whatever the surrounding format of the collector version.
 */
import { redact } from '../../secret.js';

export interface LogSignature {
  /** Stable id of the cause, for JSON and docs. */
  cause: 'credentials' | 'project' | 'quota' | 'network' | 'clock' | 'discarded';
  /** The codes or words it recognises, in the order they are tried. */
  codes: string[];
  title: string;
  fix: string;
}

export const LOG_SIGNATURES: readonly LogSignature[] = [
  {
    cause: 'credentials',
    codes: ['InvalidAccessKeyId', 'SignatureNotMatch', 'Unauthorized'],
    title: 'the cluster\'s AccessKey is refused when sending',
    fix: 'The key or secret in the release is wrong, disabled, or lacks write permission: fix it with `kubectl insight upgrade` (secret from ALIBABA_CLOUD_ACCESS_KEY_SECRET or stdin), and grant AliyunPrometheusMetricWriteAccess.',
  },
  {
    cause: 'project',
    codes: ['ProjectNotExist', 'LogStoreNotExist'],
    title: 'the SLS project or logstore the collector writes to does not exist',
    fix: 'entityCollector.projectName or region points at the wrong project or region: check both against the workspace in the Cloud Monitor 2.0 console and run `kubectl insight upgrade --set ...`.',
  },
  {
    cause: 'quota',
    codes: ['ShardWriteQuotaExceed', 'WriteQuotaExceed', 'SEND_QUOTA_EXCEED_ALARM'],
    title: 'writes are throttled by the project\'s quota',
    fix: 'Raise the project\'s write quota or split shards in the SLS console, or collect less (longer scrapeInterval, fewer targets).',
  },
  {
    cause: 'clock',
    codes: ['RequestTimeExpired'],
    title: 'the node\'s clock is too far off for signed requests',
    fix: 'Synchronise the clocks of the nodes (chrony or systemd-timesyncd): signed requests are valid within 15 minutes only.',
  },
  {
    cause: 'network',
    codes: ['RequestTimeout', 'RequestError', 'ConnectionRefused', 'ECONNREFUSED', 'ETIMEDOUT', 'Couldn\'t resolve host', 'connect timeout', 'Connection timed out', 'network error'],
    title: 'the collector cannot reach the endpoint',
    fix: 'Open outbound HTTPS from the nodes to the endpoint named in the line (or fix the proxy); `kubectl insight preflight --only network` tests it from the nodes.',
  },
  {
    cause: 'discarded',
    codes: ['SEND_DATA_FAIL_ALARM', 'DISCARD_DATA_ALARM'],
    title: 'the collector discarded data it could not send',
    fix: 'Data is being lost: fix the send failure named in the lines before it (credentials, project, quota, network).',
  },
];

export interface LogHit {
  signature: LogSignature;
  /** The code that matched. */
  code: string;
  /** How many lines matched it. */
  count: number;
  /** The newest matching line, secrets scrubbed, shortened. */
  line: string;
  /** An endpoint the line names (`cn-hangzhou.log.aliyuncs.com`), for network failures. */
  endpoint?: string;
}

const word = (code: string) => new RegExp(`(^|[^A-Za-z0-9_])${code.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}($|[^A-Za-z0-9_])`, code.includes(' ') || /^[a-z]/.test(code) ? 'i' : '');
const COMPILED = LOG_SIGNATURES.map((s) => ({ s, res: s.codes.map((c) => [c, word(c)] as const) }));
const ENDPOINT = /\b([a-z0-9-]+(?:\.[a-z0-9-]+)*\.aliyuncs\.com)\b/i;

/** Secrets out, then at most 300 characters: the line is evidence, not a dump. */
export function evidenceLine(line: string): string {
  // Also anything that looks like a credential in key=value or header form, even if not registered.
  const scrubbed = redact(line).replace(/((?:secret|password|passwd|token|authorization|credential)[a-z_-]*["']?\s*(?:[:=]|\bis\b)\s*["']?(?:Basic |Bearer )?)([^\s"',}]+)/gi, '$1[REDACTED]');
  const t = scrubbed.trim();
  return t.length > 300 ? `${t.slice(0, 299)}…` : t;
}

/** Every signature found in the text, one hit per signature (the newest line), in table order. */
export function matchSignatures(text: string): LogHit[] {
  const hits = new Map<LogSignature, LogHit>();
  for (const line of text.split(/\r?\n/)) {
    if (!line.trim()) continue;
    for (const { s, res } of COMPILED) {
      const m = res.find(([, re]) => re.test(line));
      if (!m) continue;
      const prev = hits.get(s);
      const endpoint = ENDPOINT.exec(line)?.[1];
      hits.set(s, { signature: s, code: m[0], count: (prev?.count ?? 0) + 1, line: evidenceLine(line), ...(endpoint ? { endpoint } : prev?.endpoint ? { endpoint: prev.endpoint } : {}) });
    }
  }
  return LOG_SIGNATURES.flatMap((s) => (hits.has(s) ? [hits.get(s)!] : []));
}
