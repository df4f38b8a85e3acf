// pods/log and pods/exec of fake pods, end to end: a real Deployment's pods, the real API server dialling
// the node's kubelet port, kwok's own server answering (serveContainerFiles), and the real kubectl and
// @kubernetes/client-node (the product's client) on the other side. What `kubectl insight verify` reads
// the collector's log with: exec of `sh -c 'tail ... || tail ...'`, else GET .../log?tailLines=500.
import { existsSync, readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { Writable } from 'node:stream';
import { Exec, KubeConfig, type V1Status } from '@kubernetes/client-node';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyYaml, cluster, KUBELET_PORT, kubectl, netnsSkipReason, nodeNames, SERVED_FILES_LABEL, serveContainerFiles, waitForPods, type PodSummary, type ServedContainer,
} from './support/index.js';

const NS = 'kwok-exec-e2e';
const CONTAINER = 'loongcollector';
const LC_LOG = '/usr/local/loongcollector/log/loongcollector.LOG';
const ILT_LOG = '/usr/local/ilogtail/ilogtail.LOG';
/** The command verify runs in the collector container. */
const VERIFY_CMD = `tail -n 500 ${LC_LOG} 2>/dev/null || tail -n 500 ${ILT_LOG}`;

const lines = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix} ${i + 1}\n`).join('');
const last = (text: string, n: number) => `${text.split('\n').slice(0, -1).slice(-n).join('\n')}\n`;

/** kubectl with its output byte for byte (the support helper's kubectl() drops a final newline). */
async function kubectlExact(args: string[]): Promise<{ stdout: string; stderr: string; exitCode: number }> {
  const r = await execa('kubectl', args, { reject: false, stripFinalNewline: false, timeout: 60_000, env: { KUBECONFIG: cluster().kubeconfig } });
  return { stdout: String(r.stdout), stderr: String(r.stderr), exitCode: r.exitCode ?? 1 };
}

/** An exec over a websocket with @kubernetes/client-node, as the product does it. */
async function wsExec(pod: string, container: string, command: string[]): Promise<{ stdout: string; stderr: string; status?: V1Status }> {
  const kc = new KubeConfig();
  kc.loadFromFile(cluster().kubeconfig);
  let stdout = '';
  let stderr = '';
  const sink = (add: (s: string) => void) => new Writable({ write(chunk: Buffer, _enc, cb) { add(chunk.toString()); cb(); } });
  let status: V1Status | undefined;
  const ws = await new Exec(kc).exec(NS, pod, container, command, sink((s) => (stdout += s)), sink((s) => (stderr += s)), null, false, (s) => void (status = s));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('websocket exec did not finish in 30 s')), 30_000);
    ws.on('close', () => { clearTimeout(timer); resolve(); });
    ws.on('error', (e: Error) => { clearTimeout(timer); reject(e); });
  });
  return { stdout, stderr, status };
}

function portOpen(ip: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: ip, port, timeout: 2000 });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
    s.once('timeout', () => { s.destroy(); resolve(false); });
  });
}

const servedObjects = async () => (await kubectl(['get', 'clusterexecs,clusterlogs', '-l', `${SERVED_FILES_LABEL}=true`, '-o', 'name'])).stdout.trim();

describe.skipIf(Boolean(netnsSkipReason()))('kubectl logs and exec on fake pods, served by kwok behind the real API server', () => {
  let pods: PodSummary[] = [];
  const served: ServedContainer[] = [];
  const serve = async (spec: Parameters<typeof serveContainerFiles>[0]) => {
    const s = await serveContainerFiles(spec);
    served.push(s);
    return s;
  };
  let hostUsrLocal: string[] = [];

  beforeAll(async () => {
    hostUsrLocal = readdirSync('/usr/local').sort();
    await kubectl(['create', 'namespace', NS]);
    await applyYaml({
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'collector', namespace: NS },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'collector' } },
        template: {
          metadata: { labels: { app: 'collector' } },
          spec: {
            // On different nodes whenever there are two, so the two-pod test needs two forwards.
            topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'collector' } } }],
            containers: [
              { name: CONTAINER, image: 'registry-cn-hangzhou.ack.aliyuncs.com/acs/loongcollector:v3.0.0' },
              { name: 'sidecar', image: 'registry.k8s.io/pause:3.10' },
            ],
          },
        },
      },
    });
    pods = await waitForPods(NS, 'app=collector', 2);
  });

  afterAll(async () => {
    for (const s of served) await s.stop().catch(() => {});
    await kubectl(['delete', 'namespace', NS, '--ignore-not-found', '--wait=true', '--timeout=90s'], { allowFail: true });
  });

  it('kubectl logs returns the served log text, also as the raw GET verify falls back to', async () => {
    const log = lines('collector says', 600);
    const s = await serve({ namespace: NS, pod: pods[0]!.name, container: CONTAINER, log, previousLog: 'before the restart\n' });
    try {
      expect(await kubectlExact(['logs', '-n', NS, pods[0]!.name, '-c', CONTAINER])).toMatchObject({ exitCode: 0, stdout: log });
      expect((await kubectlExact(['logs', '-n', NS, pods[0]!.name, '-c', CONTAINER, '--tail=2'])).stdout).toBe(last(log, 2));
      expect((await kubectlExact(['logs', '-n', NS, pods[0]!.name, '-c', CONTAINER, '--previous'])).stdout).toBe('before the restart\n');
      const raw = await kubectlExact(['get', '--raw', `/api/v1/namespaces/${NS}/pods/${pods[0]!.name}/log?container=${CONTAINER}&tailLines=500`]);
      expect(raw).toMatchObject({ exitCode: 0, stdout: last(log, 500) });
    } finally {
      await s.stop();
    }
  });

  it("kubectl exec runs verify's command against the served loongcollector log (tail really keeps 500 lines)", async () => {
    const content = lines('loongcollector', 600);
    const s = await serve({ namespace: NS, pod: pods[0]!.name, container: CONTAINER, files: { [LC_LOG]: content, [ILT_LOG]: 'the old agent, not read\n' } });
    try {
      const r = await kubectlExact(['exec', '-n', NS, pods[0]!.name, '-c', CONTAINER, '--', 'sh', '-c', VERIFY_CMD]);
      expect(r).toMatchObject({ exitCode: 0, stdout: last(content, 500), stderr: '' });
      // A container's view: the directory listing is the fixture's, not the host's /usr/local.
      expect((await kubectlExact(['exec', '-n', NS, pods[0]!.name, '-c', CONTAINER, '--', 'ls', '/usr/local'])).stdout).toBe('ilogtail\nloongcollector\n');
    } finally {
      await s.stop();
    }
  });

  it('falls back to the ilogtail path when only that file is there', async () => {
    const s = await serve({ namespace: NS, pod: pods[0]!.name, container: CONTAINER, files: { [ILT_LOG]: 'ilogtail line 1\nilogtail line 2\n' } });
    try {
      const r = await kubectlExact(['exec', '-n', NS, pods[0]!.name, '-c', CONTAINER, '--', 'sh', '-c', VERIFY_CMD]);
      // The first tail's complaint went to /dev/null inside the "container".
      expect(r).toMatchObject({ exitCode: 0, stdout: 'ilogtail line 1\nilogtail line 2\n', stderr: '' });
    } finally {
      await s.stop();
    }
  });

  it("reports a failed command as kwok does: an error naming the exit status, not the command's exit code", async () => {
    const s = await serve({ namespace: NS, pod: pods[0]!.name, container: CONTAINER, files: {} });
    try {
      const r = await kubectlExact(['exec', '-n', NS, pods[0]!.name, '-c', CONTAINER, '--', 'sh', '-c', VERIFY_CMD]);
      expect(r.exitCode).not.toBe(0);
      expect(r.stdout).toBe('');
      // A real kubelet says "command terminated with exit code 1"; kwok wraps the process error, so the
      // API server passes on an internal error instead.
      expect(r.stderr).toContain(`tail: cannot open '${ILT_LOG}' for reading: No such file or directory`);
      expect(r.stderr).toMatch(/error executing command in container: .*exit status 1/);
      // A container without a rule is not served at all.
      const other = await kubectlExact(['exec', '-n', NS, pods[0]!.name, '-c', 'sidecar', '--', 'true']);
      expect(other.exitCode).not.toBe(0);
      expect(other.stderr).toContain('no exec found for container "sidecar"');
    } finally {
      await s.stop();
    }
  });

  it('execs through a websocket with @kubernetes/client-node, success and failure', async () => {
    const content = 'seen over a websocket\n';
    const s = await serve({ namespace: NS, pod: pods[0]!.name, container: CONTAINER, files: { [LC_LOG]: content } });
    try {
      const ok = await wsExec(pods[0]!.name, CONTAINER, ['sh', '-c', VERIFY_CMD]);
      expect(ok).toMatchObject({ stdout: content, stderr: '', status: { status: 'Success' } });
      const bad = await wsExec(pods[0]!.name, CONTAINER, ['sh', '-c', `tail -n 500 ${ILT_LOG}`]);
      expect(bad.stdout).toBe('');
      expect(bad.stderr).toContain('No such file or directory');
      expect(bad.status).toMatchObject({ status: 'Failure' });
      expect(bad.status?.message).toMatch(/exit status 1/);
    } finally {
      await s.stop();
    }
  });

  it('serves two pods and two containers of one pod at once, each its own files', async () => {
    const [a, b] = pods as [PodSummary, PodSummary];
    const sa = await serve({ namespace: NS, pod: a.name, container: CONTAINER, files: { [LC_LOG]: 'pod a\n' }, log: 'log of a\n' });
    const sb = await serve({ namespace: NS, pod: b.name, container: CONTAINER, files: { [ILT_LOG]: 'pod b\n' } });
    const sbSide = await serve({ namespace: NS, pod: b.name, container: 'sidecar', files: { '/usr/local/sidecar/state': 'sidecar of b\n' } });
    const verify = async (p: string) => (await kubectlExact(['exec', '-n', NS, p, '-c', CONTAINER, '--', 'sh', '-c', VERIFY_CMD])).stdout;
    const twoNodes = (await nodeNames()).length > 1;
    try {
      if (twoNodes) expect(sa.nodeIp).not.toBe(sb.nodeIp);
      expect(await verify(a.name)).toBe('pod a\n');
      expect(await verify(b.name)).toBe('pod b\n');
      expect((await kubectlExact(['exec', '-n', NS, b.name, '-c', 'sidecar', '--', 'cat', '/usr/local/sidecar/state'])).stdout).toBe('sidecar of b\n');
      // A second serve of a served container is refused, not silently swapped.
      await expect(serveContainerFiles({ namespace: NS, pod: a.name, container: CONTAINER, files: { [LC_LOG]: 'again\n' } })).rejects.toThrow(/is already served/);
      expect(await verify(a.name)).toBe('pod a\n');

      // b's sidecar stops; b's collector shares that node's forward and keeps answering.
      await sbSide.stop();
      expect(await verify(b.name)).toBe('pod b\n');
      await sa.stop();
      expect(await verify(b.name)).toBe('pod b\n');
      // a's node had only a's forward: it is gone; b's stays while b is served.
      if (twoNodes) expect(await portOpen(sa.nodeIp, KUBELET_PORT)).toBe(false);
      expect(await portOpen(sb.nodeIp, KUBELET_PORT)).toBe(true);
    } finally {
      await Promise.all([sa.stop(), sb.stop(), sbSide.stop()]);
    }
  });

  it('stop() removes the rule objects, the node forward and the files, and is idempotent', async () => {
    const s = await serve({ namespace: NS, pod: pods[1]!.name, container: CONTAINER, files: { [LC_LOG]: 'x\n' }, log: 'y\n' });
    expect(s.objects.sort()).toEqual([expect.stringMatching(/^clusterexec\//), expect.stringMatching(/^clusterlogs\//)]);
    expect(await servedObjects()).not.toBe('');
    expect(await portOpen(s.nodeIp, KUBELET_PORT)).toBe(true);
    expect(existsSync(s.rootfs)).toBe(true);
    await s.stop();
    await s.stop();
    expect(await servedObjects()).toBe('');
    expect(await portOpen(s.nodeIp, KUBELET_PORT)).toBe(false);
    expect(existsSync(s.rootfs)).toBe(false);
    const r = await kubectlExact(['logs', '-n', NS, pods[1]!.name, '-c', CONTAINER]);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(new RegExp(`${s.nodeIp.replace(/\./g, '\\.')}:${KUBELET_PORT}.*connection refused`));
  });

  it("never wrote to the host's /usr/local", () => {
    expect(readdirSync('/usr/local').sort()).toEqual(hostUsrLocal);
    expect(existsSync('/usr/local/loongcollector')).toBe(false);
    expect(existsSync('/usr/local/ilogtail')).toBe(false);
  });
});

describe.runIf(Boolean(netnsSkipReason()))('kubectl logs and exec on fake pods without the network namespace', () => {
  it('serveContainerFiles says what it needs', async () => {
    await expect(serveContainerFiles({ namespace: NS, pod: 'p', container: CONTAINER, log: '' })).rejects.toThrow(/needs the network namespace/);
  });
});
