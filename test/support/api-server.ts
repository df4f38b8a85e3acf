// A plain-HTTP stand-in for the API server on loopback, and ApiClients pointed at it (bearer token,
// small socket pool): what the ApiClient unit tests share. The handler decides every answer.
import http from 'node:http';
import type net from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { ApiClient, type ApiClientOptions } from '../../src/kube/proxy.js';

export interface LoopbackApi {
  server: http.Server;
  client(opts?: ApiClientOptions & { token?: string }): Promise<ApiClient>;
  close(): Promise<void>;
}

export async function loopbackApi(handler: http.RequestListener): Promise<LoopbackApi> {
  const server = http.createServer(handler);
  const sockets: net.Socket[] = [];
  server.on('connection', (s) => sockets.push(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    server,
    client: ({ token = 'tok-123', ...opts } = {}) => {
      const kc = new KubeConfig();
      kc.loadFromOptions({
        clusters: [{ name: 'c', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
        users: [{ name: 'u', token }],
        contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
        currentContext: 'x',
      });
      return ApiClient.create(kc, { maxSockets: 4, ...opts });
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
