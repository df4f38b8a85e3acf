import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCert {
  ca: string;
  cert: string;
  key: string;
  dir: string;
  cleanup(): void;
}

/** A throwaway CA and a server certificate for `hosts` (DNS names or IPs), made with openssl. */
export function makeCert(hosts: string[] = ['localhost', '127.0.0.1']): TestCert {
  const dir = mkdtempSync(join(tmpdir(), 'insight-tls-'));
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  run('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=insight-test-ca');
  run('req', ...ec, '-keyout', 'srv.key', '-out', 'srv.csr', '-subj', `/CN=${hosts[0]}`);
  const san = hosts.map((h) => (/^[\d.]+$|:/.test(h) ? `IP:${h}` : `DNS:${h}`)).join(',');
  writeFileSync(join(dir, 'ext.cnf'), `subjectAltName=${san}\n`);
  run('x509', '-req', '-in', 'srv.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'srv.crt', '-days', '2', '-extfile', 'ext.cnf');
  return {
    dir,
    ca: readFileSync(join(dir, 'ca.crt'), 'utf8'),
    cert: readFileSync(join(dir, 'srv.crt'), 'utf8'),
    key: readFileSync(join(dir, 'srv.key'), 'utf8'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
