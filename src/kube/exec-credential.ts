/**
 * Exec credential plugins as kubectl runs them: stderr and an interactive terminal passed through,
 * relative commands taken from the kubeconfig's folder, one run shared by concurrent requests, the
 * credential cached until it expires.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { Cluster } from '@kubernetes/client-node';
import { InsightError } from '../errors.js';
import { textOf } from '../text.js';

const EXEC_OUTPUT_LIMIT = 1 << 20;
/** A non-interactive plugin that prints nothing for this long is hung (an interactive one may take its time). */
const EXEC_TIMEOUT_MS = 120_000;

export interface ExecConfig {
  command: string;
  args: string[];
  env: Array<{ name: string; value: string }>;
  apiVersion: string;
  interactiveMode: 'Never' | 'IfAvailable' | 'Always';
  installHint?: string;
  provideClusterInfo: boolean;
}

/** The environment a plugin runs in (also kube/access.ts's options). */
export interface ExecEnvironment {
  env: NodeJS.ProcessEnv;
  /** Whether a terminal is there for an interactive plugin (default: stdin is a TTY). */
  interactive?: boolean;
}

export function readExec(e: Record<string, unknown>, dir: string, where: string): ExecConfig {
  const command = e.command;
  if (typeof command !== 'string' || !command) {
    throw new InsightError('invalid-input', `${where}: exec has no command`, { hint: 'Set users[].user.exec.command in the kubeconfig.' });
  }
  const apiVersion = typeof e.apiVersion === 'string' ? e.apiVersion : '';
  if (!/^client\.authentication\.k8s\.io\/(v1|v1beta1)$/.test(apiVersion)) {
    throw new InsightError('invalid-input', `${where}: exec apiVersion "${apiVersion}" is not client.authentication.k8s.io/v1 or v1beta1`, {
      hint: 'Set users[].user.exec.apiVersion to client.authentication.k8s.io/v1.',
    });
  }
  const mode = e.interactiveMode ?? 'IfAvailable';
  if (mode !== 'Never' && mode !== 'IfAvailable' && mode !== 'Always') {
    throw new InsightError('invalid-input', `${where}: exec interactiveMode must be Never, IfAvailable or Always`, { hint: 'Fix users[].user.exec.interactiveMode.' });
  }
  const bad = (what: string) => new InsightError('invalid-input', `${where}: exec ${what}`, { hint: 'Fix users[].user.exec in the kubeconfig: args is a list of strings, env a list of {name, value}.' });
  if (e.args !== undefined && e.args !== null && (!Array.isArray(e.args) || e.args.some((a) => typeof a !== 'string'))) throw bad('args must be a list of strings');
  if (e.env !== undefined && e.env !== null && (!Array.isArray(e.env) || e.env.some((x) => !x || typeof x !== 'object' || typeof (x as { name?: unknown }).name !== 'string' || !(x as { name: string }).name))) {
    throw bad('env entries must each have a name');
  }
  const args = (e.args as string[] | undefined) ?? [];
  const env = ((e.env as Array<{ name: string; value?: unknown }> | undefined) ?? []).map((x) => ({ name: x.name, value: typeof x.value === 'string' ? x.value : textOf(x.value) }));
  if ([command, ...args, ...env.flatMap((x) => [x.name, x.value])].some((x) => x.includes('\0'))) throw bad('holds a NUL character');
  // As kubectl: a command with a path separator is relative to the kubeconfig's folder; a bare name is looked up in PATH.
  const resolved = command.includes('/') && !isAbsolute(command) ? resolve(dir, command) : command;
  return {
    command: resolved, args, env, apiVersion, interactiveMode: mode,
    ...(typeof e.installHint === 'string' ? { installHint: e.installHint } : {}),
    provideClusterInfo: e.provideClusterInfo === true,
  };
}

export interface Credential {
  token?: string;
  cert?: string;
  key?: string;
  expires?: number;
}

/** Runs one exec credential plugin: once for concurrent requests, again only when its credential expired. */
export class ExecRunner {
  private cached?: Credential;
  private inFlight?: Promise<Credential>;

  constructor(
    private readonly exec: ExecConfig,
    private readonly cluster: Cluster,
    private readonly opts: ExecEnvironment,
  ) {}

  credential(): Promise<Credential> {
    if (this.cached && (this.cached.expires === undefined || this.cached.expires > Date.now() + 10_000)) return Promise.resolve(this.cached);
    this.inFlight ??= this.run().then(
      (c) => ((this.cached = c), (this.inFlight = undefined), c),
      (e: unknown) => {
        this.inFlight = undefined;
        throw e;
      },
    );
    return this.inFlight;
  }

  private run(): Promise<Credential> {
    const x = this.exec;
    const name = x.command;
    const tty = this.opts.interactive ?? Boolean(process.stdin.isTTY);
    const interactive = x.interactiveMode !== 'Never' && tty;
    if (x.interactiveMode === 'Always' && !tty) {
      return Promise.reject(
        new InsightError('unauthorized', `exec credential plugin ${name} needs a terminal (interactiveMode: Always)`, {
          hint: 'Run the command in a terminal, or log in with the plugin first so it has a cached credential.',
        }),
      );
    }
    const spec: Record<string, unknown> = { interactive };
    if (x.provideClusterInfo) {
      spec.cluster = {
        server: this.cluster.server,
        ...(this.cluster.tlsServerName ? { 'tls-server-name': this.cluster.tlsServerName } : {}),
        'insecure-skip-tls-verify': this.cluster.skipTLSVerify,
        ...(this.cluster.caData ? { 'certificate-authority-data': this.cluster.caData } : {}),
        ...(this.cluster.proxyUrl ? { 'proxy-url': this.cluster.proxyUrl } : {}),
      };
    }
    const env = { ...this.opts.env };
    for (const e of x.env) env[e.name] = e.value;
    env.KUBERNETES_EXEC_INFO = JSON.stringify({ apiVersion: x.apiVersion, kind: 'ExecCredential', spec });
    return new Promise<Credential>((resolvePromise, reject) => {
      const fail = (message: string, hint: string) => reject(new InsightError('unauthorized', message, { hint }));
      const fixHint = 'Fix users[].user.exec in the kubeconfig, or run the plugin yourself to see what it needs.';
      if (name.includes('/') && !existsSync(name)) {
        fail(`exec credential plugin ${name} does not exist`, x.installHint ?? fixHint);
        return;
      }
      // stderr goes to the user's terminal: a login prompt or the plugin's own error must be seen.
      let child: ReturnType<typeof spawn>;
      try {
        child = spawn(name, x.args, { env, stdio: [interactive ? 'inherit' : 'ignore', 'pipe', 'inherit'] });
      } catch (e) {
        fail(`exec credential plugin ${name} could not run: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, fixHint);
        return;
      }
      let out = '';
      let tooBig = false;
      const timer = interactive ? undefined : setTimeout(() => child.kill('SIGKILL'), EXEC_TIMEOUT_MS);
      child.stdout!.setEncoding('utf8');
      child.stdout!.on('data', (d: string) => {
        if (out.length + d.length > EXEC_OUTPUT_LIMIT) {
          tooBig = true;
          child.kill('SIGKILL');
        } else out += d;
      });
      child.on('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        if (e.code === 'ENOENT') fail(`exec credential plugin ${name} was not found`, x.installHint ?? `Install ${name} or put it on PATH; ${fixHint}`);
        else fail(`exec credential plugin ${name} could not run: ${e.code ?? e.message}`, fixHint);
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        if (tooBig) return fail(`exec credential plugin ${name} printed more than 1 MiB`, fixHint);
        if (signal) return fail(`exec credential plugin ${name} ${signal === 'SIGKILL' && !interactive ? `gave no credential within ${EXEC_TIMEOUT_MS / 1000}s` : `was stopped by ${signal}`}`, fixHint);
        if (code !== 0) return fail(`exec credential plugin ${name} failed (exit ${code}); its own message is above`, fixHint);
        try {
          resolvePromise(parseExecCredential(out, x.apiVersion));
        } catch (e) {
          fail(`exec credential plugin ${name} printed no valid ExecCredential: ${(e as Error).message}`, fixHint);
        }
      });
    });
  }
}

/** The credential in an ExecCredential the plugin printed; throws a one-line reason when it is not one. */
export function parseExecCredential(stdout: string, apiVersion: string): Credential {
  let obj: unknown;
  try {
    obj = JSON.parse(stdout);
  } catch {
    throw new Error(stdout.trim() ? 'its output is not JSON' : 'its output is empty');
  }
  const o = obj as { apiVersion?: unknown; kind?: unknown; status?: Record<string, unknown> } | null;
  if (!o || typeof o !== 'object' || o.kind !== 'ExecCredential') throw new Error('kind is not ExecCredential');
  if (o.apiVersion !== apiVersion) throw new Error(`apiVersion ${String(o.apiVersion)} is not the configured ${apiVersion}`);
  const s = o.status;
  if (!s || typeof s !== 'object') throw new Error('it has no status');
  const str = (k: string) => (typeof s[k] === 'string' && s[k] ? s[k] : undefined);
  const token = str('token');
  const cert = str('clientCertificateData');
  const key = str('clientKeyData');
  if (!token && !(cert && key)) throw new Error('status has neither a token nor a client certificate and key');
  if ((cert && !key) || (key && !cert)) throw new Error('status has only one of clientCertificateData and clientKeyData');
  const exp = str('expirationTimestamp');
  const expires = exp ? Date.parse(exp) : undefined;
  if (exp && Number.isNaN(expires)) throw new Error('expirationTimestamp is not a time');
  return { ...(token ? { token } : {}), ...(cert ? { cert, key } : {}), ...(expires !== undefined ? { expires } : {}) };
}
