// The test bed's cluster slots: a cluster left behind by a dead run must never block the next one.
import { mkdtempSync, mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { claimSlot, listClusters, reapOrphans } from '../../cluster/cluster.js';
import { planNetwork } from '../../cluster/netns.js';

let root: string;
const saved = process.env.KUBECTL_INSIGHT_CLUSTERS;
// A pid that cannot be alive: above the kernel's pid_max ceiling.
const DEAD = 4_194_305;

function writeCluster(name: string, slot: number, opts: { ownerPid?: number; pids: number[] }) {
  mkdirSync(join(root, name), { recursive: true });
  mkdirSync(join(root, `.slot-${slot}`), { recursive: true });
  writeFileSync(join(root, `.slot-${slot}`, 'owner'), name);
  const state = {
    name, dir: join(root, name), kubeconfig: join(root, name, 'kubeconfig'), binDir: '', server: '', nodes: 1, nextNodeIndex: 0,
    ownerPid: opts.ownerPid, net: planNetwork(slot), netns: null, pki: { dir: '', caCert: '', caKey: '' },
    leaseDurationSeconds: 20, nodeMonitorGracePeriodSeconds: 40, startedAt: '',
    processes: opts.pids.map((pid) => ({ name: 'etcd', pid, log: '/dev/null', cmd: 'etcd' })),
  };
  writeFileSync(join(root, name, 'state.json'), JSON.stringify(state));
}

beforeEach(() => {
  root = join(mkdtempSync(join(tmpdir(), 'slots-')), 'clusters');
  process.env.KUBECTL_INSIGHT_CLUSTERS = root;
});
afterEach(async () => {
  if (saved === undefined) delete process.env.KUBECTL_INSIGHT_CLUSTERS;
  else process.env.KUBECTL_INSIGHT_CLUSTERS = saved;
  await rm(join(root, '..'), { recursive: true, force: true });
});

describe('cluster slots', () => {
  it('reaping the only orphan (which removes the empty root) still leaves a slot to claim', async () => {
    writeCluster('e2e-old', 0, { ownerPid: DEAD, pids: [DEAD] });
    await reapOrphans();
    expect(existsSync(join(root, 'e2e-old'))).toBe(false);
    expect(await claimSlot(root, 'e2e-new')).toBe(0);
  });

  it('a cluster none of whose processes runs is reaped even without an owner pid', async () => {
    writeCluster('default', 0, { pids: [DEAD, DEAD + 1] });
    await reapOrphans();
    expect(listClusters()).toEqual([]);
  });

  it('a slot whose cluster still runs is skipped; a slot whose cluster died is taken over', async () => {
    writeCluster('alive', 0, { pids: [process.pid] });
    writeCluster('dead', 1, { pids: [DEAD] });
    expect(await claimSlot(root, 'next')).toBe(1);
    expect(await claimSlot(root, 'after')).toBe(2);
  });

  it('a failure other than a taken slot is reported as itself', async () => {
    mkdirSync(join(root, '..'), { recursive: true });
    writeFileSync(root, 'not a directory');
    await expect(claimSlot(root, 'x')).rejects.toThrow(/EEXIST|ENOTDIR/);
  });
});
