// The network namespace that makes fake nodes reachable. kube-apiserver only proxies to global-unicast
// pod IPs, so node and pod addresses live in a namespace joined to the host by a veth pair. Inside it a
// `local` route makes every address of the node and pod ranges local, so one process listening on a port
// (node_exporter on :19100) answers for every node and pod, also with 1000 nodes.
import { existsSync } from 'node:fs';
import { run, startDaemon, type ProcRecord } from './procs.js';

export interface NetPlan {
  /** Slot of this cluster among the ones running at the same time; picks non-colliding ranges and names. */
  index: number;
  nodeCidr: string;
  podCidr: string;
  /** nodeCidr + podCidr: the one range routed into the namespace. */
  routedCidr: string;
  serviceCidr: string;
  serviceIp: string;
  /** Written into the `kubernetes` Endpoints; nothing listens there. */
  advertiseIp: string;
  netns: string;
  hostVeth: string;
  nsVeth: string;
  hostLinkIp: string;
  nsLinkIp: string;
}

export const MAX_CLUSTERS = 27;

export function planNetwork(index: number): NetPlan {
  if (index < 0 || index >= MAX_CLUSTERS) throw new Error(`cluster slot ${index} out of range`);
  const a = 200 + 2 * index;
  return {
    index,
    nodeCidr: `10.${a}.0.0/16`,
    podCidr: `10.${a + 1}.0.0/16`,
    routedCidr: `10.${a}.0.0/15`,
    // Services are never routed (no kube-proxy); one range for every cluster is fine.
    serviceCidr: '10.96.0.0/16',
    serviceIp: '10.96.0.1',
    advertiseIp: `10.${a}.255.254`,
    netns: `insight-e2e-${index}`,
    hostVeth: `insight${index}h`,
    nsVeth: `insight${index}n`,
    hostLinkIp: `169.254.${100 + index}.1`,
    nsLinkIp: `169.254.${100 + index}.2`,
  };
}

/** InternalIP of the i-th node (0-based); the same numbering is used for nodes added later by tests. */
export function nodeIp(plan: NetPlan, i: number): string {
  const base = plan.nodeCidr.split('.').slice(0, 2).join('.');
  const h = i + 10;
  if (h > 65000) throw new Error(`node index ${i} exceeds the node range`);
  return `${base}.${h >> 8}.${h & 255}`;
}

/** Why the namespace cannot be made here, or undefined when it can. */
export function netnsUnavailableReason(): string | undefined {
  if (process.env.INSIGHT_E2E_NO_NETNS) return 'INSIGHT_E2E_NO_NETNS is set';
  if (process.platform !== 'linux') return `network namespaces need Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return `creating a network namespace needs root (running as uid ${process.getuid?.()}); run the e2e suite as root, as CI does`;
  if (!['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip'].some((p) => existsSync(p))) return 'the `ip` command (iproute2) is missing: run `npm run setup`';
  return undefined;
}

async function ip(args: string[], allowFail = false): Promise<void> {
  await run('ip', args, { allowFail });
}

export async function createNetns(plan: NetPlan): Promise<void> {
  // A namespace left by a crashed run with the same slot would make every step below fail.
  await deleteNetns(plan);
  await ip(['netns', 'add', plan.netns]);
  await ip(['link', 'add', plan.hostVeth, 'type', 'veth', 'peer', 'name', plan.nsVeth]);
  await ip(['link', 'set', plan.nsVeth, 'netns', plan.netns]);
  await ip(['addr', 'add', `${plan.hostLinkIp}/30`, 'dev', plan.hostVeth]);
  await ip(['link', 'set', plan.hostVeth, 'up']);
  const inNs = (args: string[]) => ip(['-n', plan.netns, ...args]);
  await inNs(['link', 'set', 'lo', 'up']);
  await inNs(['addr', 'add', `${plan.nsLinkIp}/30`, 'dev', plan.nsVeth]);
  await inNs(['link', 'set', plan.nsVeth, 'up']);
  await inNs(['route', 'add', 'local', plan.routedCidr, 'dev', 'lo']);
  await inNs(['route', 'add', 'default', 'via', plan.hostLinkIp]);
  await ip(['route', 'add', plan.routedCidr, 'via', plan.nsLinkIp, 'dev', plan.hostVeth]);
}

/** Kills whatever still runs inside the namespace, then removes it and the host side of the veth. */
export async function deleteNetns(plan: NetPlan): Promise<void> {
  const pids = await run('ip', ['netns', 'pids', plan.netns], { allowFail: true });
  for (const pid of pids.stdout.split(/\s+/).filter(Boolean).map(Number)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  await ip(['link', 'del', plan.hostVeth], true); // also removes the host route through it
  await ip(['netns', 'del', plan.netns], true);
}

/** Starts a daemon inside the namespace (`ip netns exec` execs it, so the pid is the daemon's own). */
export function startInNetns(netns: string, name: string, exe: string, args: string[], log: string, env?: NodeJS.ProcessEnv): ProcRecord {
  const rec = startDaemon(name, 'ip', ['netns', 'exec', netns, exe, ...args], log, env);
  return { ...rec, exe };
}
