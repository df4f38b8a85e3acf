/**
 * Loopback servers that fail the way real networks do, for the network-error classifications:
 * a port nothing listens on (refused), a TCP server that accepts and never answers (black hole:
 * timeout), and a plain-HTTP server where HTTPS is expected.
 */
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';

export interface Closable {
  port: number;
  close(): Promise<void>;
}

/** A loopback port that was free a moment ago and now has no listener. */
export async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Accepts TCP connections and never sends a byte. */
export async function startBlackHole(): Promise<Closable & { accepted(): number }> {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const s = net.createServer((sock) => {
    accepted++;
    sockets.add(sock);
    sock.on('error', () => {});
    sock.on('close', () => sockets.delete(sock));
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  return {
    port: (s.address() as AddressInfo).port,
    /** Connections taken so far (one per attempt of the client). */
    accepted: () => accepted,
    close: () =>
      new Promise<void>((r) => {
        for (const sock of sockets) sock.destroy();
        s.close(() => r());
      }),
  };
}

/** Plain HTTP where the client expects TLS. */
export async function startPlainHttp(): Promise<Closable> {
  const s = http.createServer((_req, res) => res.end('plain http\n'));
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  return {
    port: (s.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        s.closeAllConnections();
        s.close(() => r());
      }),
  };
}
