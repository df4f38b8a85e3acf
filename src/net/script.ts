/**
 * The probe program run inside the probe pods: a POSIX sh script around curl (the four steps DNS,
 * TCP, verified TLS, HTTPS in one call; curl's exit code says which step failed). It prints one
 * `INSIGHT-PROBE` line per endpoint to stdout and to the termination-message file, and the runner
 * classifies those lines here, into the same outcomes as the local prober (src/net/probe.ts).
 *
 * Why curl: busybox's wget does not verify TLS certificates, so it cannot tell an intercepting proxy
 * from the real endpoint; curl verifies against the image's CA bundle (or an override's CA) and its
 * exit codes separate 6 (DNS), 7 (connect), 28 (timeout), 35 (handshake), 60 (untrusted).
 */
import type { ProbeOutcome, ProbeResult, ProbeTarget } from './types.js';

export const RESULT_PREFIX = 'INSIGHT-PROBE';
export const BEGIN_MARK = 'INSIGHT-PROBE-BEGIN';
export const END_MARK = 'INSIGHT-PROBE-END';

/**
 * Inputs come in environment variables (never interpolated into the script text, so a host name
 * cannot inject shell): PROBE_TARGETS has one `host port connectHost connectPort caIndex path` line
 * per endpoint (`-` for none), PROBE_CA_<i> the PEM of CA i.
 */
export const PROBE_SCRIPT = `
set -u
T=$(mktemp -d "\${TMPDIR:-/tmp}/insight-probe.XXXXXX" 2>/dev/null) || T=\${TMPDIR:-/tmp}
trap 'rm -rf "$T"' EXIT
OUT=\${PROBE_RESULT_FILE:-/dev/termination-log}
CT=\${PROBE_CONNECT_TIMEOUT:-5}
MT=\${PROBE_MAX_TIME:-15}
emit() { printf '%s\\n' "$1"; printf '%s\\n' "$1" >>"$OUT" 2>/dev/null; }
: >"$OUT" 2>/dev/null
if ! command -v curl >/dev/null 2>&1; then emit "${BEGIN_MARK} v1 no-curl"; emit "${END_MARK}"; exit 3; fi
emit "${BEGIN_MARK} v1 $(curl --version 2>/dev/null | head -n 1 | cut -d' ' -f1-2)"
printf '%s\\n' "\${PROBE_TARGETS:-}" | while read -r host port chost cport ca path; do
  [ -n "$host" ] || continue
  set -- -sS -v -o /dev/null --connect-timeout "$CT" -m "$MT" -w 'W %{http_code} %{remote_ip} %{time_connect} %{time_appconnect}'
  if [ "$ca" != "-" ]; then eval "pem=\\\${PROBE_CA_$ca:-}"; printf '%s\\n' "$pem" >"$T/insight-ca-$ca.pem"; set -- "$@" --cacert "$T/insight-ca-$ca.pem"; fi
  cto=""
  if [ "$chost" != "-" ] || [ "$cport" != "-" ]; then
    h2=""; [ "$chost" != "-" ] && h2=$chost
    p2=""; [ "$cport" != "-" ] && p2=$cport
    cto="$host:$port:$h2:$p2"
    set -- "$@" --connect-to "$cto"
  fi
  w=$(curl "$@" "https://$host:$port$path" 2>"$T/insight-err"); rc=$?
  plain=-
  if [ "$rc" = 35 ]; then
    plain=$(curl -sS -o /dev/null --connect-timeout "$CT" -m "$MT" -w '%{http_code}' \${cto:+--connect-to "$cto"} "http://$host:$port/" 2>/dev/null) || true
    [ -n "$plain" ] || plain=-
  fi
  # Which steps completed, from curl's verbose trace (timings are 0 after a failure on older curls).
  conn=0; grep -q '^* Connected to' "$T/insight-err" && conn=1
  tls=0; grep -q '^* SSL connection using' "$T/insight-err" && tls=1
  detail=$(grep -E 'connect to .*(refused|No route|unreachable|timed out)|^curl: \\(' "$T/insight-err" | tail -n 2 | tr '\\n\\r\\t' '   ' | cut -c1-300)
  emit "${RESULT_PREFIX} $host $port rc=$rc conn=$conn tls=$tls plain=$plain $w | $detail"
done
emit "${END_MARK}"
`;

export interface ScriptEnv {
  env: Record<string, string>;
  /** host → IP for the pod's hostAliases (overrides whose address is an IP). */
  hostAliases: Record<string, string[]>;
}

/** Encode targets for the script: IP overrides become hostAliases, name/port overrides --connect-to. */
export function scriptEnv(targets: ProbeTarget[], opts: { connectTimeoutS?: number; maxTimeS?: number } = {}): ScriptEnv {
  const env: Record<string, string> = { PROBE_CONNECT_TIMEOUT: String(opts.connectTimeoutS ?? 5), PROBE_MAX_TIME: String(opts.maxTimeS ?? 15) };
  const hostAliases: Record<string, string[]> = {};
  const cas: string[] = [];
  const lines: string[] = [];
  for (const t of targets) {
    const safe = (s: string) => {
      if (!/^[A-Za-z0-9._:/\-[\]]+$/.test(s)) throw new Error(`refusing to probe "${s}": not a host name`);
      return s;
    };
    let chost = '-';
    if (t.connectAddress && t.connectAddress !== t.host) {
      // An IP goes through the pod's /etc/hosts, so the DNS step still resolves the real name.
      if (/^[0-9.]+$/.test(t.connectAddress) || t.connectAddress.includes(':')) (hostAliases[t.connectAddress] ??= []).push(t.host);
      else chost = safe(t.connectAddress);
    }
    let ca = '-';
    if (t.ca) {
      let i = cas.indexOf(t.ca);
      if (i < 0) i = cas.push(t.ca) - 1;
      ca = String(i);
    }
    const cport = t.connectPort && t.connectPort !== t.port ? String(t.connectPort) : '-';
    lines.push([safe(t.host), String(t.port), chost, cport, ca, safe(t.path ?? '/')].join(' '));
  }
  env.PROBE_TARGETS = lines.join('\n');
  cas.forEach((pem, i) => (env[`PROBE_CA_${i}`] = pem));
  return { env, hostAliases };
}

export interface ParsedProbeOutput {
  /** curl's version line, or `no-curl`. */
  tool?: string;
  complete: boolean;
  results: ProbeResult[];
}

/** Classify one curl run. Pure: unit tests cover every exit code we map. */
export function classifyCurl(x: { rc: number; code: string; ip: string; connected: boolean; tlsDone: boolean; plain: string; detail: string; host: string; port: number }): { outcome: ProbeOutcome; message: string; status?: number } {
  const d = x.detail.trim();
  const why = d ? ` (${d.replace(/^\* ?/, '')})` : '';
  const at = x.ip ? ` at ${x.ip}` : '';
  switch (x.rc) {
    case 0:
      if (/^\d{3}$/.test(x.code) && x.code !== '000') return { outcome: 'ok', status: Number(x.code), message: `resolved to ${x.ip || '?'}, TLS verified, HTTPS answered ${x.code}` };
      return { outcome: 'error', message: `no HTTP status from ${x.host}${why}` };
    case 6:
      return { outcome: 'dns-failure', message: `${x.host} does not resolve (curl exit 6)${why}` };
    case 7:
      if (/No route|unreachable/i.test(d)) return { outcome: 'unreachable', message: `no route to ${x.host}:${x.port}${at} (curl exit 7)${why}` };
      if (/timed out/i.test(d)) return { outcome: 'timeout', message: `TCP connect to ${x.host}:${x.port}${at} timed out (curl exit 7)${why}` };
      return { outcome: 'refused', message: `TCP connect to ${x.host}:${x.port}${at} refused (curl exit 7)${why}` };
    case 28:
      if (!x.connected) return { outcome: 'timeout', message: `TCP connect to ${x.host}:${x.port}${at} timed out: no answer (packets dropped by a firewall or no route back) (curl exit 28)` };
      if (!x.tlsDone) return { outcome: 'tls-other', message: `TLS handshake with ${x.host}${at} timed out: the server accepted TCP but never answered the ClientHello (curl exit 28)` };
      return { outcome: 'error', message: `no HTTP response from ${x.host}${at} in time (curl exit 28)` };
    case 35:
      if (/^\d{3}$/.test(x.plain) && x.plain !== '000') {
        return { outcome: 'http-on-https', message: `a plain HTTP server answered on ${x.host}:${x.port}${at} (HTTP ${x.plain} to a plain request; the TLS handshake failed, curl exit 35)${why}` };
      }
      return { outcome: 'tls-other', message: `TLS handshake with ${x.host}${at} failed (curl exit 35)${why}` };
    case 51:
    case 60:
      return { outcome: 'tls-untrusted', message: `TLS certificate of ${x.host}${at} not trusted (curl exit ${x.rc})${why}` };
    case 56:
      if (!x.tlsDone) return { outcome: 'tls-other', message: `the connection to ${x.host}${at} was reset during the TLS handshake (curl exit 56)${why}` };
      return { outcome: 'error', message: `receiving the HTTP response from ${x.host}${at} failed (curl exit 56)${why}` };
    case 52:
      return { outcome: 'error', message: `${x.host}${at} closed the connection without an HTTP response (curl exit 52)` };
    default:
      return { outcome: 'error', message: `curl exit ${x.rc} probing ${x.host}${at}${why}` };
  }
}

const LINE = /^INSIGHT-PROBE (\S+) (\d+) rc=(\d+) conn=(\d) tls=(\d) plain=(\S+) (?:W (\S+) (\S*) (\S+) (\S+))? ?\|?(.*)$/;

/** Parse what a probe pod printed (its log or termination message). */
export function parseProbeOutput(text: string, vantage: string): ParsedProbeOutput {
  const out: ParsedProbeOutput = { complete: false, results: [] };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/^\S+Z /, '').trimEnd(); // kubectl logs --timestamps style prefixes
    if (line.startsWith(`${BEGIN_MARK} `)) out.tool = line.slice(BEGIN_MARK.length + 1).replace(/^v1 /, '');
    else if (line === END_MARK) out.complete = true;
    else if (line.startsWith(`${RESULT_PREFIX} `)) {
      const m = LINE.exec(line);
      if (!m) continue;
      const [, host, port, rc, conn, tls, plain, code, ip, , , detail] = m;
      const c = classifyCurl({ rc: Number(rc), code: code ?? '000', ip: ip ?? '', connected: conn === '1', tlsDone: tls === '1', plain: plain!, detail: detail ?? '', host: host!, port: Number(port) });
      out.results.push({ host: host!, port: Number(port), vantage, ...c, ...(ip ? { address: ip } : {}) });
    }
  }
  return out;
}
