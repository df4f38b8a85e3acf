// Loopback stand-ins for the local prober: a trusted TLS server, a plain HTTP server, a TLS server with
// a certificate from another CA, a port nothing listens on, and a black hole (a listener whose accept
// queue is full and whose process is stopped: the kernel drops further SYNs, so connect times out).
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer as createHttp, type Server } from 'node:http';
import { createServer as createHttps } from 'node:https';
import { connect, createServer as createTcp, type AddressInfo, type Socket } from 'node:net';
import { generatePki, type TestPki } from '../../../support/cloud-standin/pki.js';

export interface Loopback {
  pki: TestPki;
  otherPki: TestPki;
  ok: number;
  untrusted: number;
  plain: number;
  silent: number;
  closed: number;
  blackhole: number;
  close(): Promise<void>;
}

const listen = (s: Server | ReturnType<typeof createTcp>) => new Promise<number>((r) => s.listen(0, '127.0.0.1', () => r((s.address() as AddressInfo).port)));

export async function startLoopback(names: string[]): Promise<Loopback> {
  const pki = generatePki(names);
  const otherPki = generatePki(names);
  const handler = (_q: unknown, res: { writeHead(n: number): void; end(b: string): void }) => {
    res.writeHead(404);
    res.end('{}');
  };
  const servers: Array<Server | ReturnType<typeof createTcp>> = [];
  const held: Socket[] = [];
  const ok = createHttps({ cert: pki.certPem, key: pki.keyPem }, handler);
  const untrusted = createHttps({ cert: otherPki.certPem, key: otherPki.keyPem }, handler);
  const plain = createHttp(handler);
  const silent = createTcp((s) => held.push(s.pause()));
  servers.push(ok, untrusted, plain, silent);
  const ports = await Promise.all(servers.map(listen));
  const closedSrv = createTcp();
  const closed = await listen(closedSrv);
  await new Promise((r) => closedSrv.close(r));

  const child: ChildProcess = spawn(process.execPath, ['-e', "const s=require('net').createServer();s.listen({port:0,host:'127.0.0.1',backlog:1},()=>console.log(s.address().port))"], { stdio: ['ignore', 'pipe', 'inherit'] });
  const blackhole = Number(await new Promise<string>((r) => child.stdout!.once('data', (d) => r(String(d)))));
  child.kill('SIGSTOP');
  const fillers: Socket[] = [];
  for (let i = 0; i < 8; i++) fillers.push(connect(blackhole, '127.0.0.1').on('error', () => undefined));
  await new Promise((r) => setTimeout(r, 300));
  return {
    pki,
    otherPki,
    ok: ports[0]!,
    untrusted: ports[1]!,
    plain: ports[2]!,
    silent: ports[3]!,
    closed,
    blackhole,
    async close() {
      for (const f of fillers) f.destroy();
      for (const h of held) h.destroy();
      child.kill('SIGKILL');
      await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    },
  };
}
