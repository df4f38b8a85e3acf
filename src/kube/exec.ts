/**
 * Run a short, read-only command in a container (pods/exec over the API server's websocket) and
 * collect what it prints, bounded in time and size. Used to read log files a container keeps on disk
 * (the collector logs to files, not stdout).
 */
import { Writable } from 'node:stream';
import type { KubeConfig, V1Status } from '@kubernetes/client-node';

/** The part of the exec websocket used here (its package types do not resolve for the linter). */
interface Session {
  close(): void;
  on(event: 'close', fn: () => void): void;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  /** `Success`, or `Failure` with the reason the API server or the runtime gave. */
  status: string;
  message?: string;
  /** The command's exit code, when it ran and failed. */
  exitCode?: number;
}

export interface ExecOptions {
  timeoutMs: number;
  /** stdout beyond this is dropped (the tail of a log is what matters; the command bounds it too). */
  maxBytes: number;
}

function sink(max: number): { stream: Writable; text(): string } {
  const chunks: Buffer[] = [];
  let size = 0;
  return {
    stream: new Writable({
      write(chunk: Buffer, _enc, cb) {
        if (size < max) chunks.push(chunk.subarray(0, max - size));
        size += chunk.length;
        cb();
      },
    }),
    text: () => Buffer.concat(chunks).toString('utf8'),
  };
}

/** Exec `command` in namespace/pod/container; rejects when the session cannot be opened (403, no such container). */
export async function execInContainer(kc: KubeConfig, namespace: string, pod: string, container: string, command: string[], o: ExecOptions): Promise<ExecResult> {
  const { Exec } = await import('@kubernetes/client-node');
  const out = sink(o.maxBytes);
  const err = sink(64 * 1024);
  return new Promise<ExecResult>((resolve, reject) => {
    let done = false;
    let socket: Session | undefined;
    let status: V1Status | undefined;
    const finish = (r: ExecResult | Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket?.close();
      if (r instanceof Error) reject(r);
      else resolve(r);
    };
    const result = (): ExecResult => {
      const code = status?.details?.causes?.find((c) => c.reason === 'ExitCode')?.message;
      return {
        stdout: out.text(),
        stderr: err.text(),
        status: status?.status ?? 'Unknown',
        ...(status?.message ? { message: status.message } : {}),
        ...(code !== undefined ? { exitCode: Number(code) } : {}),
      };
    };
    const timer = setTimeout(() => finish(new Error(`exec in ${namespace}/${pod} did not finish within ${Math.round(o.timeoutMs / 1000)}s`)), o.timeoutMs);
    new Exec(kc)
      .exec(namespace, pod, container, command, out.stream, err.stream, null, false, (s: V1Status) => {
        status = s;
      })
      .then((ws: unknown) => {
        socket = ws as Session;
        // The status arrives on the error channel just before the close.
        socket.on('close', () => finish(result()));
      })
      .catch((e: unknown) => finish(e instanceof Error ? e : new Error(String(e))));
  });
}
