// A loopback TCP proxy in front of the API server, to take it away for a while (TLS passes through).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import { cluster } from './cluster.js';

export interface ApiProxy {
  kubeconfig: string;
  port: number;
  /** Refuse new connections and cut the open ones (the API server "goes away"). */
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

/** A loopback proxy to the API server and a kubeconfig that goes through it (TLS passes through untouched). */
export async function startApiProxy(): Promise<ApiProxy> {
  const c = cluster();
  const kc = YAML.parse(readFileSync(c.kubeconfig, 'utf8')) as { clusters: { cluster: { server: string } }[] };
  const target = new URL(kc.clusters[0]!.cluster.server);
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server = createServer((client) => {
        const upstream = connect(Number(target.port), target.hostname);
        sockets.add(client).add(upstream);
        const drop = () => {
          client.destroy();
          upstream.destroy();
          sockets.delete(client);
          sockets.delete(upstream);
        };
        client.on('error', drop).on('close', drop);
        upstream.on('error', drop).on('close', drop);
        client.pipe(upstream).pipe(client);
      });
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        port = (server!.address() as { port: number }).port;
        resolve();
      });
    });
  const stop = async () => {
    const s = server;
    server = undefined;
    for (const so of sockets) so.destroy();
    sockets.clear();
    if (s) await new Promise<void>((r) => s.close(() => r()));
  };
  await listen();
  const dir = mkdtempSync(join(tmpdir(), 'uninstall-proxy-'));
  const proxied = YAML.parse(readFileSync(c.kubeconfig, 'utf8')) as { clusters: { cluster: { server: string } }[] };
  for (const cl of proxied.clusters) cl.cluster.server = `https://127.0.0.1:${port}`;
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, YAML.stringify(proxied), { mode: 0o600 });
  return {
    kubeconfig,
    get port() {
      return port;
    },
    stop,
    start: () => (server ? Promise.resolve() : listen()),
    close: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
