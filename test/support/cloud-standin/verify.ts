/**
 * Server-side signature verification for the stand-in, written separately from src/cloud/signing.ts
 * (different parsing, its own encoder) so a mistake in the client cannot be mirrored here. It works
 * on the request as it arrives on the wire: the encoded URL, lower-cased header names, the body bytes.
 * It is held to the same published vectors as the client (test/unit/cloud/signing.test.ts).
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export interface RawRequest {
  method: string;
  /** Path and query exactly as on the request line. */
  url: string;
  /** Lower-cased names (as node:http delivers them). */
  headers: Record<string, string>;
  body: Buffer;
}

export type Scheme = 'ACS3' | 'SLS-V1' | 'SLS-V4' | 'Bearer' | 'Basic';

export type VerifyResult =
  | { ok: true; scheme: Scheme; accessKeyId: string; region?: string }
  | { ok: false; scheme?: Scheme; accessKeyId?: string; reason: 'missing' | 'malformed' | 'signature' | 'payload'; detail: string; serverStringToSign?: string };

const UNRESERVED = /[A-Za-z0-9\-_.~]/;

/** RFC 3986 encoding done byte by byte (deliberately not via encodeURIComponent). */
function rfc3986(s: string): string {
  let out = '';
  for (const ch of s) {
    if (UNRESERVED.test(ch)) {
      out += ch;
      continue;
    }
    for (const b of Buffer.from(ch, 'utf8')) out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Percent-decoding that leaves `+` alone (the schemes encode a space as %20). */
function pctDecode(s: string): string {
  return decodeURIComponent(s);
}

function splitUrl(url: string): { path: string; pairs: [string, string][] } {
  const q = url.indexOf('?');
  const rawPath = q < 0 ? url : url.slice(0, q);
  const rawQuery = q < 0 ? '' : url.slice(q + 1);
  const pairs: [string, string][] = [];
  for (const part of rawQuery.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    pairs.push(eq < 0 ? [pctDecode(part), ''] : [pctDecode(part.slice(0, eq)), pctDecode(part.slice(eq + 1))]);
  }
  return { path: rawPath, pairs };
}

const byCodeUnit = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function sameHex(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function detectScheme(authorization: string | undefined): Scheme | undefined {
  if (!authorization) return undefined;
  if (authorization.startsWith('ACS3-HMAC-SHA256 ')) return 'ACS3';
  if (authorization.startsWith('SLS4-HMAC-SHA256 ')) return 'SLS-V4';
  if (authorization.startsWith('LOG ')) return 'SLS-V1';
  if (/^Bearer /i.test(authorization)) return 'Bearer';
  if (/^Basic /i.test(authorization)) return 'Basic';
  return undefined;
}

/** `Authorization: Basic base64(user:password)`, split at the first colon (RFC 7617). */
export function parseBasic(authorization: string | undefined): { user: string; password: string } | undefined {
  const m = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(authorization ?? '');
  if (!m) return undefined;
  const text = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  return colon < 0 ? undefined : { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

/** The AccessKey ID the request claims, before any verification (to look the secret up). */
export function claimedAccessKeyId(req: RawRequest): string | undefined {
  const auth = req.headers.authorization ?? '';
  switch (detectScheme(auth)) {
    case 'ACS3':
      return /Credential=([^,]+)/.exec(auth)?.[1];
    case 'SLS-V4':
      return /Credential=([^/,]+)\//.exec(auth)?.[1];
    case 'SLS-V1':
      return /^LOG ([^:]+):/.exec(auth)?.[1];
    case 'Basic':
      return parseBasic(auth)?.user || undefined;
    default:
      return undefined;
  }
}

// ---------------------------------------------------------------------------------------------

export function verifyAcs3(req: RawRequest, secret: string): VerifyResult {
  const auth = req.headers.authorization ?? '';
  const m = /^ACS3-HMAC-SHA256 Credential=([^,]+),SignedHeaders=([^,]+),Signature=([0-9a-f]{64})$/.exec(auth);
  if (!m) return { ok: false, scheme: 'ACS3', reason: 'malformed', detail: 'Authorization is not ACS3-HMAC-SHA256 Credential=..,SignedHeaders=..,Signature=..' };
  const [, accessKeyId, signedList, signature] = m as unknown as [string, string, string, string];
  const signedNames = signedList.split(';');
  for (const required of ['host', 'x-acs-action', 'x-acs-version', 'x-acs-date', 'x-acs-signature-nonce', 'x-acs-content-sha256']) {
    if (req.headers[required] === undefined) return { ok: false, scheme: 'ACS3', accessKeyId, reason: 'missing', detail: `header ${required} is required` };
  }
  // The spec: every host, content-type and x-acs-* header present must be signed.
  for (const name of Object.keys(req.headers)) {
    if ((name === 'host' || name === 'content-type' || name.startsWith('x-acs-')) && !signedNames.includes(name)) {
      return { ok: false, scheme: 'ACS3', accessKeyId, reason: 'signature', detail: `header ${name} is not in SignedHeaders` };
    }
  }
  const payloadHash = createHash('sha256').update(req.body).digest('hex');
  if (req.headers['x-acs-content-sha256'] !== payloadHash) return { ok: false, scheme: 'ACS3', accessKeyId, reason: 'payload', detail: 'x-acs-content-sha256 does not match the body' };

  const { path, pairs } = splitUrl(req.url);
  const canonicalUri = path.split('/').map((seg) => rfc3986(pctDecode(seg))).join('/') || '/';
  const canonicalQuery = pairs
    .sort(([a], [b]) => byCodeUnit(a, b))
    .map(([k, v]) => `${rfc3986(k)}=${rfc3986(v)}`)
    .join('&');
  let canonicalHeaders = '';
  for (const name of [...signedNames].sort(byCodeUnit)) canonicalHeaders += `${name}:${(req.headers[name] ?? '').trim()}\n`;
  const canonicalRequest = `${req.method}\n${canonicalUri}\n${canonicalQuery}\n${canonicalHeaders}\n${[...signedNames].sort(byCodeUnit).join(';')}\n${payloadHash}`;
  const stringToSign = `ACS3-HMAC-SHA256\n${createHash('sha256').update(canonicalRequest).digest('hex')}`;
  const expected = createHmac('sha256', secret).update(stringToSign).digest('hex');
  return sameHex(expected, signature)
    ? { ok: true, scheme: 'ACS3', accessKeyId }
    : { ok: false, scheme: 'ACS3', accessKeyId, reason: 'signature', detail: 'signature mismatch', serverStringToSign: stringToSign };
}

// ---------------------------------------------------------------------------------------------

export function verifySlsV1(req: RawRequest, secret: string, opts: { checkBodyMd5?: boolean } = {}): VerifyResult {
  const auth = req.headers.authorization ?? '';
  const m = /^LOG ([^:]+):([A-Za-z0-9+/=]+)$/.exec(auth);
  if (!m) return { ok: false, scheme: 'SLS-V1', reason: 'malformed', detail: 'Authorization is not LOG <AccessKeyId>:<Signature>' };
  const [, accessKeyId, signature] = m as unknown as [string, string, string];
  const method = req.headers['x-log-signaturemethod'];
  if (method !== 'hmac-sha1' && method !== 'hmac-sha256') return { ok: false, scheme: 'SLS-V1', accessKeyId, reason: 'malformed', detail: 'x-log-signaturemethod must be hmac-sha1 or hmac-sha256' };
  if (!req.headers.date && !req.headers['x-log-date']) return { ok: false, scheme: 'SLS-V1', accessKeyId, reason: 'missing', detail: 'Date header is required' };
  if ((opts.checkBodyMd5 ?? true) && req.body.length > 0) {
    const md5 = createHash('md5').update(req.body).digest('hex').toUpperCase();
    if (req.headers['content-md5'] !== md5) return { ok: false, scheme: 'SLS-V1', accessKeyId, reason: 'payload', detail: 'Content-MD5 does not match the body' };
  }
  const { path, pairs } = splitUrl(req.url);
  const logHeaders = Object.keys(req.headers)
    .filter((k) => k.startsWith('x-log-') || k.startsWith('x-acs-'))
    .sort(byCodeUnit)
    .map((k) => `${k}:${req.headers[k]!.trim()}`);
  let resource = pctDecode(path);
  if (pairs.length) resource += `?${pairs.sort(([a], [b]) => byCodeUnit(a, b)).map(([k, v]) => `${k}=${v}`).join('&')}`;
  const lines = [req.method, req.headers['content-md5'] ?? '', req.headers['content-type'] ?? '', req.headers['x-log-date'] ?? req.headers.date ?? '', logHeaders.join('\n'), resource];
  const stringToSign = lines.join('\n');
  const expected = createHmac(method === 'hmac-sha1' ? 'sha1' : 'sha256', secret).update(stringToSign).digest('base64');
  return sameHex(expected, signature)
    ? { ok: true, scheme: 'SLS-V1', accessKeyId }
    : { ok: false, scheme: 'SLS-V1', accessKeyId, reason: 'signature', detail: 'signature mismatch', serverStringToSign: stringToSign };
}

// ---------------------------------------------------------------------------------------------

export function verifySlsV4(req: RawRequest, secret: string): VerifyResult {
  const auth = req.headers.authorization ?? '';
  const m = /^SLS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([a-z0-9-]+)\/sls\/aliyun_v4_request,Signature=([0-9a-f]{64})$/.exec(auth);
  if (!m) return { ok: false, scheme: 'SLS-V4', reason: 'malformed', detail: 'Authorization is not SLS4-HMAC-SHA256 Credential=<ak>/<date>/<region>/sls/aliyun_v4_request,Signature=..' };
  const [, accessKeyId, shortDate, region, signature] = m as unknown as [string, string, string, string, string];
  const dateTime = req.headers['x-log-date'];
  if (!dateTime || !/^\d{8}T\d{6}Z$/.test(dateTime)) return { ok: false, scheme: 'SLS-V4', accessKeyId, reason: 'missing', detail: 'x-log-date (yyyyMMddTHHmmssZ) is required' };
  if (dateTime.slice(0, 8) !== shortDate) return { ok: false, scheme: 'SLS-V4', accessKeyId, reason: 'signature', detail: 'credential scope date differs from x-log-date' };
  const contentSha = createHash('sha256').update(req.body).digest('hex');
  if (req.headers['x-log-content-sha256'] !== contentSha) return { ok: false, scheme: 'SLS-V4', accessKeyId, reason: 'payload', detail: 'x-log-content-sha256 does not match the body' };

  const { path, pairs } = splitUrl(req.url);
  const signedNames = Object.keys(req.headers)
    .filter((k) => k === 'host' || k === 'content-type' || k.startsWith('x-log-') || k.startsWith('x-acs-'))
    .sort(byCodeUnit);
  const canonicalHeaders = signedNames.map((k) => `${k}:${req.headers[k]!.trim()}\n`).join('');
  const canonicalQuery = pairs
    .sort(([a], [b]) => byCodeUnit(a, b))
    .map(([k, v]) => (v === '' ? k : `${k}=${rfc3986(v)}`))
    .join('&');
  const canonicalRequest = [req.method, pctDecode(path), canonicalQuery, canonicalHeaders, signedNames.join(';'), contentSha].join('\n');
  const scope = `${shortDate}/${region}/sls/aliyun_v4_request`;
  const stringToSign = `SLS4-HMAC-SHA256\n${dateTime}\n${scope}\n${createHash('sha256').update(canonicalRequest).digest('hex')}`;
  let key = createHmac('sha256', 'aliyun_v4' + secret).update(shortDate).digest();
  key = createHmac('sha256', key).update(region).digest();
  key = createHmac('sha256', key).update('sls').digest();
  key = createHmac('sha256', key).update('aliyun_v4_request').digest();
  const expected = createHmac('sha256', key).update(stringToSign).digest('hex');
  return sameHex(expected, signature)
    ? { ok: true, scheme: 'SLS-V4', accessKeyId, region }
    : { ok: false, scheme: 'SLS-V4', accessKeyId, reason: 'signature', detail: 'signature mismatch', serverStringToSign: stringToSign };
}
