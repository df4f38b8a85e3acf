// Test network namespaces for the in-cluster probe path: each plays one node's network. Inside: lo,
// and a subnet that black-holes packets, so a connect to 10.123.0.99 times out exactly like a firewall
// DROP, without iptables (not installed here) or the dummy module (not loaded here). `ip netns exec`
// bind-mounts /etc/netns/<name>/{hosts,resolv.conf} over /etc, as kubelet gives a pod its own
// /etc/hosts (hostAliases); resolv.conf points at 127.0.0.1 inside the namespace, where nothing
// answers, so no name ever reaches a real DNS server.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const BLACKHOLE_IP = '10.123.0.99';

export function netnsSkipReason(): string | undefined {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (process.getuid?.() !== 0) return 'creating network namespaces needs root';
  for (const tool of ['ip', 'curl']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      return `${tool} is not installed`;
    }
  }
  return undefined;
}

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });

export interface TestNetns {
  name: string;
  setHosts(map: Record<string, string[]>): void;
  exec(cmd: string, args: string[], env?: Record<string, string>): { stdout: string; status: number };
  execAsync(cmd: string, args: string[], env?: Record<string, string>): Promise<{ stdout: string; status: number }>;
  startServer(spec: Record<string, unknown>): Promise<{ port: number; stop(): void }>;
  destroy(): void;
}

export function createTestNetns(name: string): TestNetns {
  const etc = `/etc/netns/${name}`;
  const children: ChildProcess[] = [];
  try {
    ip('netns', 'del', name);
  } catch {
    /* not there */
  }
  ip('netns', 'add', name);
  try {
    setUp();
  } catch (e) {
    // A half-made namespace must not outlive the failed test.
    try {
      ip('netns', 'del', name);
    } catch {
      /* gone */
    }
    rmSync(etc, { recursive: true, force: true });
    throw e;
  }
  function setUp(): void {
    ip('-n', name, 'link', 'set', 'lo', 'up');
    // The black hole: a veth whose peer has no address and a permanent neighbour entry for BLACKHOLE_IP
    // with a MAC nobody owns, so SYNs leave without ARP and are silently dropped by the peer.
    ip('-n', name, 'link', 'add', 'bh0', 'type', 'veth', 'peer', 'name', 'bh1');
    ip('-n', name, 'addr', 'add', '10.123.0.1/24', 'dev', 'bh0');
    ip('-n', name, 'link', 'set', 'bh0', 'up');
    ip('-n', name, 'link', 'set', 'bh1', 'up');
    ip('-n', name, 'neigh', 'add', BLACKHOLE_IP, 'lladdr', '02:00:00:00:00:99', 'dev', 'bh0', 'nud', 'permanent');
    mkdirSync(etc, { recursive: true });
    writeFileSync(`${etc}/resolv.conf`, 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n');
    writeFileSync(`${etc}/hosts`, '127.0.0.1 localhost\n');
  }
  const ns: TestNetns = {
    name,
    setHosts(map) {
      const lines = ['127.0.0.1 localhost', ...Object.entries(map).map(([addr, names]) => `${addr} ${names.join(' ')}`)];
      writeFileSync(`${etc}/hosts`, `${lines.join('\n')}\n`);
    },
    exec(cmd, args, env = {}) {
      try {
        const stdout = execFileSync('ip', ['netns', 'exec', name, 'env', '-i', `PATH=${process.env.PATH}`, ...Object.entries(env).map(([k, v]) => `${k}=${v}`), cmd, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
        return { stdout, status: 0 };
      } catch (e) {
        const err = e as { stdout?: string; status?: number };
        return { stdout: String(err.stdout ?? ''), status: err.status ?? 1 };
      }
    },
    execAsync(cmd, args, env = {}) {
      return new Promise((resolve) => {
        execFile('ip', ['netns', 'exec', name, 'env', '-i', `PATH=${process.env.PATH}`, ...Object.entries(env).map(([k, v]) => `${k}=${v}`), cmd, ...args], { encoding: 'utf8', timeout: 60_000 }, (err, stdout) => {
          resolve({ stdout: String(stdout ?? ''), status: err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0 });
        });
      });
    },
    startServer(spec) {
      const script = fileURLToPath(new URL('./server.mjs', import.meta.url));
      const child = spawn('ip', ['netns', 'exec', name, process.execPath, script, JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'inherit'] });
      children.push(child);
      return new Promise((resolve, reject) => {
        child.once('exit', (c) => reject(new Error(`server exited ${c}`)));
        child.stdout.once('data', (d: Buffer) => {
          const m = /listening (\d+)/.exec(String(d));
          if (!m) return reject(new Error(String(d)));
          resolve({ port: Number(m[1]), stop: () => child.kill('SIGKILL') });
        });
      });
    },
    destroy() {
      for (const c of children) c.kill('SIGKILL');
      try {
        ip('netns', 'del', name);
      } catch {
        /* gone */
      }
      if (existsSync(etc)) rmSync(etc, { recursive: true, force: true });
      try {
        rmdirSync('/etc/netns'); // only when empty: other namespaces may have files there
      } catch {
        /* not empty, or gone */
      }
    },
  };
  return ns;
}
