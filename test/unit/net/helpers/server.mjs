// A stand-in endpoint run inside a test network namespace (`ip netns exec NS node server.mjs '<json>'`).
//   https  TLS with the given certificate, answers every request with `status`
//   http   plain HTTP (the "plain HTTP server on 443" case)
//   silent accepts TCP and never answers (a TLS handshake that times out)
import { createServer as createHttp } from 'node:http';
import { createServer as createHttps } from 'node:https';
import { createServer as createTcp } from 'node:net';

const spec = JSON.parse(process.argv[2] ?? '{}');
const handler = (_req, res) => {
  res.writeHead(spec.status ?? 404, { 'content-type': 'application/json' });
  res.end('{"Code":"stand-in"}');
};
const held = [];
const server =
  spec.mode === 'https' ? createHttps({ cert: spec.cert, key: spec.key }, handler)
  : spec.mode === 'http' ? createHttp(handler)
  : createTcp((s) => { s.pause(); held.push(s); });
server.on('error', (e) => { process.stderr.write(`server: ${e.message}\n`); process.exit(1); });
server.listen(spec.port ?? 0, spec.host ?? '127.0.0.1', () => process.stdout.write(`listening ${server.address().port}\n`));
process.on('SIGTERM', () => process.exit(0));
