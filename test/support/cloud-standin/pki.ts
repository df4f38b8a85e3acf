/**
 * A throw-away CA and server certificate for the stand-in, made with openssl at test time (EC P-256:
 * fast). The server certificate carries the real Alibaba Cloud names of the regions under test, so
 * the client checks the certificate against the real host name while connecting to 127.0.0.1.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestPki {
  caPem: string;
  certPem: string;
  keyPem: string;
}

/** SANs covering STS, CMS (public and VPC) and SLS (regional and project hosts) for these regions. */
export function aliyunNames(regions: readonly string[]): string[] {
  const names = ['*.aliyuncs.com', '*.log.aliyuncs.com'];
  for (const r of regions) names.push(`*.${r}.aliyuncs.com`, `*.${r}.log.aliyuncs.com`, `*.${r}-intranet.log.aliyuncs.com`);
  return names;
}

export function generatePki(dnsNames: readonly string[], ips: readonly string[] = ['127.0.0.1', '::1']): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'insight-pki-'));
  const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    run(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=kubectl-insight test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
    run(['req', ...ec, '-keyout', 'srv.key', '-out', 'srv.csr', '-subj', '/CN=cloud-standin']);
    const san = [...dnsNames.map((n) => `DNS:${n}`), ...ips.map((i) => `IP:${i}`)].join(',');
    writeFileSync(join(dir, 'ext.cnf'), `subjectAltName=${san}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n`);
    run(['x509', '-req', '-in', 'srv.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'srv.pem', '-days', '2', '-extfile', 'ext.cnf']);
    return {
      caPem: readFileSync(join(dir, 'ca.pem'), 'utf8'),
      certPem: readFileSync(join(dir, 'srv.pem'), 'utf8'),
      keyPem: readFileSync(join(dir, 'srv.key'), 'utf8'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
