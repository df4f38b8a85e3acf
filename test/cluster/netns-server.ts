// A tiny stand-in exporter that the harness runs inside the cluster's network namespace on a node or pod IP
// (see startNetnsServer in test/e2e/support/cluster.ts). Usage: tsx netns-server.ts '<json ServerSpec>'
//   http       answers every request with `status` and `body` (default: a few Prometheus metrics)
//   https      the same over TLS with certFile/keyFile (a certificate the clients do not trust)
//   blackhole  accepts TCP connections and never answers, like a filtered or hung exporter
//   forward    pipes every TCP connection to `target` (host:port), e.g. a node's kubelet port to kwok's
//              server on the host side of the veth (startKubeletForward in cluster.ts)
import { createServer as createHttp, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttps } from 'node:https';
import { connect, createServer as createTcp, type Server, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';

export interface ServerSpec {
  mode: 'http' | 'https' | 'blackhole' | 'forward';
  /** Unset: every address of the namespace. */
  host?: string;
  port: number;
  status?: number;
  body?: string;
  contentType?: string;
  certFile?: string;
  keyFile?: string;
  /** forward: where to, as host:port. */
  target?: string;
}

const spec = JSON.parse(process.argv[2] ?? '{}') as ServerSpec;
const body = spec.body ?? '# HELP insight_test_up Stand-in exporter.\n# TYPE insight_test_up gauge\ninsight_test_up 1\n';

function handler(_req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(spec.status ?? 200, { 'Content-Type': spec.contentType ?? 'text/plain; version=0.0.4' });
  res.end(body);
}

const target = /^(.+):(\d+)$/.exec(spec.target ?? '');

/** A byte pipe: TLS and HTTP upgrades (exec's SPDY/websocket streams) pass through untouched. */
function forward(client: Socket, host: string, port: number): void {
  const upstream = connect({ host, port });
  const close = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', close).on('close', close);
  upstream.on('error', close).on('close', close);
  client.pipe(upstream).pipe(client);
}

const held: Socket[] = [];
function makeServer(): Server {
  switch (spec.mode) {
    case 'forward':
      if (!target) {
        process.stderr.write(`netns-server: forward needs target host:port, got ${spec.target}\n`);
        process.exit(2);
      }
      return createTcp((sock) => forward(sock, target[1]!, Number(target[2])));
    case 'blackhole':
      return createTcp((sock) => {
        // Keep the connection open and read nothing: the client waits until its own timeout.
        sock.pause();
        held.push(sock);
      });
    case 'https':
      return createHttps({ cert: readFileSync(spec.certFile ?? ''), key: readFileSync(spec.keyFile ?? '') }, handler);
    default:
      return createHttp(handler);
  }
}
const server = makeServer();

server.on('error', (e) => {
  process.stderr.write(`netns-server: ${e.message}\n`);
  process.exit(1);
});
server.listen(spec.port, spec.host, () => {
  // The parent waits for this line before it returns to the test.
  process.stdout.write(`listening ${spec.mode} ${spec.host ?? '*'}:${spec.port}${spec.target ? ` -> ${spec.target}` : ''}\n`);
});
process.on('SIGTERM', () => process.exit(0));
