/**
 * Turn a pod's status and its events into one precise problem statement: the cause a human would
 * dig out with `kubectl describe pod`, with its evidence and a fix. Used by doctor's pod checks and
 * by the install helper when a rollout times out. Pure functions over API objects: no API calls.
 */
import type { CoreV1Event, V1Container, V1ContainerStatus, V1Pod, V1PodSpec } from '@kubernetes/client-node';

export type PodProblemReason =
  | 'CrashLoopBackOff'
  | 'OOMKilled'
  | 'ImagePullBackOff'
  | 'CreateContainerConfigError'
  | 'ContainerWaiting'
  | 'Terminated'
  | 'Unschedulable'
  | 'Pending'
  | 'NotReady'
  | 'Failed'
  | 'Terminating';

/** Why the scheduler refused the pod, when its message says so (several may apply). */
export type SchedulingCause = 'host-port' | 'taint' | 'insufficient-resources' | 'node-selector' | 'volume' | 'other';

export interface PodProblem {
  reason: PodProblemReason;
  /** One line: `container "x" is in CrashLoopBackOff (5 restarts; last exit: Error, code 1)`. */
  message: string;
  /** Facts the message rests on: status fields and event messages. */
  evidence: string[];
  /** What to do, with a copy-paste command where one exists. */
  hint: string;
  container?: string;
  /** Only for Unschedulable. */
  schedulingCauses?: SchedulingCause[];
  /** Only for image pulls: the image and its registry host. */
  image?: { image: string; registry: string };
}

export interface ExplainOptions {
  /** Shown in hints: `kubectl logs -n <ns> <pod> -c <c> --previous`. */
  now?: Date;
  /** Flag users pass to install/upgrade to pull from another registry. */
  imageRegistryFlag?: string;
}

const podRef = (pod: V1Pod) => `${pod.metadata?.namespace ?? 'default'} ${pod.metadata?.name ?? '?'}`;

/** Events that concern this pod (by uid when set, else by name), newest first. */
export function eventsFor(pod: V1Pod, events: CoreV1Event[]): CoreV1Event[] {
  const uid = pod.metadata?.uid;
  const name = pod.metadata?.name;
  const ns = pod.metadata?.namespace;
  return events
    .filter((e) => {
      const o = e.involvedObject;
      if (!o || (o.kind && o.kind !== 'Pod')) return false;
      if (uid && o.uid) return o.uid === uid;
      return o.name === name && (o.namespace ?? ns) === ns;
    })
    .sort((a, b) => eventTime(b) - eventTime(a));
}

export function eventTime(e: CoreV1Event): number {
  const t = e.lastTimestamp ?? e.eventTime ?? e.series?.lastObservedTime ?? e.firstTimestamp ?? e.metadata?.creationTimestamp;
  return t ? new Date(t).getTime() : 0;
}

export function isPodReady(pod: V1Pod): boolean {
  return pod.status?.phase === 'Running' && (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/** The registry host of an image reference (`docker.io` for short names, as the container runtime does). */
export function imageRegistry(image: string): string {
  const first = image.split('/')[0] ?? '';
  if (image.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost')) return first;
  return 'docker.io';
}

/** Classify the scheduler's FailedScheduling / Unschedulable message. */
export function schedulingCauses(message: string): SchedulingCause[] {
  const causes: SchedulingCause[] = [];
  if (/free ports|host ?port/i.test(message)) causes.push('host-port');
  if (/untolerated taint|had taint/i.test(message)) causes.push('taint');
  if (/Insufficient (cpu|memory|ephemeral-storage|pods|nvidia|[a-z0-9.-]+\/)/i.test(message) || /Too many pods/i.test(message)) causes.push('insufficient-resources');
  if (/node affinity|node selector|nodeSelector|didn't match Pod's node/i.test(message)) causes.push('node-selector');
  if (/volume|persistentvolumeclaim/i.test(message)) causes.push('volume');
  if (!causes.length) causes.push('other');
  return causes;
}

function schedulingHint(pod: V1Pod, causes: SchedulingCause[], message: string): string {
  const parts: string[] = [];
  if (causes.includes('host-port')) {
    const ports = hostPorts(pod.spec).map((h) => h.port);
    const list = ports.length ? ports.join(', ') : 'the pod\'s hostPort';
    parts.push(
      `Another pod or process on the node already holds hostPort ${list}: find it with \`kubectl get pods -A -o wide --field-selector spec.nodeName=<node>\` ` +
        `(often a second node-exporter), then remove it or disable the duplicate (e.g. \`--set nodeExporter.enabled=false\`).`,
    );
  }
  if (causes.includes('taint')) {
    const taint = /\{([^}]+)\}/.exec(message)?.[1];
    parts.push(`The nodes carry taint${taint ? ` {${taint}}` : 's'} the pod does not tolerate: add a matching toleration in the chart values, or list taints with \`kubectl get nodes -o custom-columns=NAME:.metadata.name,TAINTS:.spec.taints\`.`);
  }
  if (causes.includes('insufficient-resources')) {
    parts.push('No node has enough free resources for the pod\'s requests: lower the component\'s resources.requests in the values, or add capacity (`kubectl describe nodes | grep -A8 "Allocated resources"`).');
  }
  if (causes.includes('node-selector')) parts.push('No node matches the pod\'s nodeSelector/affinity: check the labels with `kubectl get nodes --show-labels`.');
  if (causes.includes('volume')) parts.push('A volume cannot be bound or attached: `kubectl get pvc -n ' + (pod.metadata?.namespace ?? 'default') + '`.');
  if (!parts.length) parts.push(`Read the scheduler's message: \`kubectl describe pod -n ${podRef(pod)}\`.`);
  return parts.join(' ');
}

export interface HostPort {
  port: number;
  protocol: string;
  container: string;
}

/**
 * The ports a pod (or a workload's pod template) holds on its node, as the scheduler counts them:
 * the containers' and the sidecars' (init containers with restartPolicy Always; a plain init
 * container has exited before the pod runs), each port with hostPort set, or its containerPort on a
 * hostNetwork pod (the API server fills hostPort in for Pods, no longer for pod templates).
 */
export function hostPorts(spec: V1PodSpec | undefined): HostPort[] {
  const out: HostPort[] = [];
  const sidecars = (spec?.initContainers ?? []).filter((c) => c.restartPolicy === 'Always');
  for (const c of [...(spec?.containers ?? []), ...sidecars]) {
    for (const p of c.ports ?? []) {
      const port = p.hostPort || (spec?.hostNetwork ? p.containerPort : undefined);
      if (port) out.push({ port, protocol: p.protocol ?? 'TCP', container: c.name });
    }
  }
  return out;
}

function containerSpec(pod: V1Pod, name: string): V1Container | undefined {
  return [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].find((c) => c.name === name);
}

function memoryLimit(pod: V1Pod, name: string): string | undefined {
  return containerSpec(pod, name)?.resources?.limits?.['memory'];
}

function lastTermination(cs: V1ContainerStatus): string | undefined {
  const t = cs.lastState?.terminated ?? cs.state?.terminated;
  if (!t) return undefined;
  return `${t.reason ?? 'terminated'}, exit code ${t.exitCode}${t.signal ? `, signal ${t.signal}` : ''}`;
}

function imageProblem(pod: V1Pod, cs: V1ContainerStatus, waitingReason: string, waitingMessage: string | undefined, podEvents: CoreV1Event[], opts: ExplainOptions): PodProblem {
  const image = containerSpec(pod, cs.name)?.image ?? cs.image ?? '?';
  const registry = imageRegistry(image);
  const pullEvent = podEvents.find((e) => e.reason === 'Failed' && /pull|image/i.test(e.message ?? ''));
  const evidence = [`state.waiting.reason=${waitingReason}`, `image=${image}`];
  if (waitingMessage) evidence.push(`state.waiting.message=${oneLine(waitingMessage)}`);
  if (pullEvent?.message && pullEvent.message !== waitingMessage) evidence.push(`event Failed: ${oneLine(pullEvent.message)}`);
  const flag = opts.imageRegistryFlag ?? '--image-registry';
  const detail = `${waitingMessage ?? ''} ${pullEvent?.message ?? ''}`;
  let why = `the nodes cannot pull it from ${registry}`;
  if (/not found|manifest unknown|does not exist/i.test(detail)) why = `the image or tag does not exist in ${registry}`;
  else if (/unauthorized|denied|authentication required/i.test(detail)) why = `${registry} refused the pull (authentication)`;
  return {
    reason: 'ImagePullBackOff',
    container: cs.name,
    image: { image, registry },
    message: `container "${cs.name}" cannot pull image ${image} (${waitingReason}): ${why}`,
    evidence,
    hint:
      `Make ${registry} reachable from the nodes, or mirror the images to a registry they can reach and re-run ` +
      `\`kubectl insight upgrade ${flag} <your-registry>\`. Test from a node: \`crictl pull ${image}\`.`,
  };
}

function oneLine(s: string): string {
  const line = s.replace(/\s+/g, ' ').trim();
  return line.length > 300 ? `${line.slice(0, 297)}...` : line;
}

/** The first container (init containers first) that explains the pod's trouble. */
function explainContainers(pod: V1Pod, podEvents: CoreV1Event[], opts: ExplainOptions): PodProblem | undefined {
  const ns = pod.metadata?.namespace ?? 'default';
  const name = pod.metadata?.name ?? '?';
  const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  for (const cs of statuses) {
    const waiting = cs.state?.waiting;
    const restarts = cs.restartCount ?? 0;
    const lastTerm = cs.lastState?.terminated;
    const curTerm = cs.state?.terminated;
    const logs = `kubectl logs -n ${ns} ${name} -c ${cs.name} --previous`;
    if (waiting?.reason && /ImagePull|ErrImage|InvalidImageName/.test(waiting.reason)) {
      return imageProblem(pod, cs, waiting.reason, waiting.message, podEvents, opts);
    }
    const oom = (lastTerm?.reason === 'OOMKilled' && (waiting || !cs.ready)) || curTerm?.reason === 'OOMKilled';
    if (oom) {
      const limit = memoryLimit(pod, cs.name);
      return {
        reason: 'OOMKilled',
        container: cs.name,
        message: `container "${cs.name}" was OOMKilled (memory limit ${limit ?? 'none set'}; ${restarts} restart${restarts === 1 ? '' : 's'})`,
        evidence: [`lastState.terminated.reason=OOMKilled`, `exitCode=${(lastTerm ?? curTerm)?.exitCode}`, `resources.limits.memory=${limit ?? '<none>'}`, `restartCount=${restarts}`],
        hint: limit
          ? `Raise the memory limit of "${cs.name}" above ${limit} in the chart values (its resources.limits.memory) and upgrade; usage grows with cluster size.`
          : `The node ran out of memory: set resources for "${cs.name}" or free node memory.`,
      };
    }
    if (waiting?.reason === 'CrashLoopBackOff') {
      const last = lastTermination(cs);
      const ev = [`state.waiting.reason=CrashLoopBackOff`, `restartCount=${restarts}`];
      if (last) ev.push(`lastState.terminated: ${last}`);
      if (lastTerm?.message) ev.push(`lastState.terminated.message=${oneLine(lastTerm.message)}`);
      return {
        reason: 'CrashLoopBackOff',
        container: cs.name,
        message: `container "${cs.name}" is in CrashLoopBackOff (${restarts} restart${restarts === 1 ? '' : 's'}${last ? `; last exit: ${last}` : ''})`,
        evidence: ev,
        hint: `Read why it exits: \`${logs}\`.`,
      };
    }
    if (waiting?.reason === 'CreateContainerConfigError' || waiting?.reason === 'CreateContainerError') {
      return {
        reason: 'CreateContainerConfigError',
        container: cs.name,
        message: `container "${cs.name}" cannot be created (${waiting.reason}${waiting.message ? `: ${oneLine(waiting.message)}` : ''})`,
        evidence: [`state.waiting.reason=${waiting.reason}`, ...(waiting.message ? [`state.waiting.message=${oneLine(waiting.message)}`] : [])],
        hint: `A referenced Secret or ConfigMap (or key) is usually missing: \`kubectl describe pod -n ${ns} ${name}\`.`,
      };
    }
    if (waiting?.reason && waiting.reason !== 'ContainerCreating' && waiting.reason !== 'PodInitializing') {
      return {
        reason: 'ContainerWaiting',
        container: cs.name,
        message: `container "${cs.name}" is waiting: ${waiting.reason}${waiting.message ? ` (${oneLine(waiting.message)})` : ''}`,
        evidence: [`state.waiting.reason=${waiting.reason}`, `restartCount=${restarts}`],
        hint: `\`kubectl describe pod -n ${ns} ${name}\``,
      };
    }
    if (curTerm && curTerm.exitCode !== 0 && pod.spec?.restartPolicy !== 'Always') {
      return {
        reason: 'Terminated',
        container: cs.name,
        message: `container "${cs.name}" exited: ${lastTermination(cs)}`,
        evidence: [`state.terminated: ${lastTermination(cs)}`],
        hint: `\`kubectl logs -n ${ns} ${name} -c ${cs.name}\``,
      };
    }
  }
  return undefined;
}

/**
 * The pod's problem, or undefined when it is Running and Ready (or Succeeded).
 * `events` may be all events of the namespace: the pod's own are picked out here.
 */
export function explainPod(pod: V1Pod, events: CoreV1Event[] = [], opts: ExplainOptions = {}): PodProblem | undefined {
  const ns = pod.metadata?.namespace ?? 'default';
  const name = pod.metadata?.name ?? '?';
  const podEvents = eventsFor(pod, events);
  const phase = pod.status?.phase ?? 'Unknown';

  if (pod.metadata?.deletionTimestamp) {
    const since = new Date(pod.metadata.deletionTimestamp);
    const ageS = Math.round(((opts.now ?? new Date()).getTime() - since.getTime()) / 1000);
    const grace = pod.metadata.deletionGracePeriodSeconds ?? 30;
    if (ageS > grace + 60) {
      return {
        reason: 'Terminating',
        message: `pod is stuck Terminating for ${ageS}s${pod.metadata.finalizers?.length ? ` (finalizers: ${pod.metadata.finalizers.join(', ')})` : ''}`,
        evidence: [`metadata.deletionTimestamp=${since.toISOString()}`, `nodeName=${pod.spec?.nodeName ?? '<none>'}`],
        hint: `The node may be down or the kubelet gone: \`kubectl get node ${pod.spec?.nodeName ?? '<node>'}\`; as a last resort \`kubectl delete pod -n ${ns} ${name} --grace-period=0 --force\`.`,
      };
    }
    return undefined;
  }
  if (phase === 'Succeeded') return undefined;

  if (phase === 'Failed') {
    const c = explainContainers(pod, podEvents, opts);
    if (c) return c;
    return {
      reason: 'Failed',
      message: `pod failed${pod.status?.reason ? `: ${pod.status.reason}` : ''}${pod.status?.message ? ` (${oneLine(pod.status.message)})` : ''}`,
      evidence: [`status.phase=Failed`, ...(pod.status?.reason ? [`status.reason=${pod.status.reason}`] : [])],
      hint: `\`kubectl describe pod -n ${ns} ${name}\`; its controller creates a replacement.`,
    };
  }

  if (phase === 'Pending' && !pod.spec?.nodeName) {
    const cond = (pod.status?.conditions ?? []).find((c) => c.type === 'PodScheduled' && c.status === 'False');
    const ev = podEvents.find((e) => e.reason === 'FailedScheduling');
    const message = ev?.message ?? cond?.message;
    if (message || cond?.reason === 'Unschedulable') {
      const causes = schedulingCauses(message ?? '');
      const evidence = [`status.phase=Pending`, `PodScheduled=False${cond?.reason ? ` (${cond.reason})` : ''}`];
      if (message) evidence.push(`${ev ? 'event FailedScheduling' : 'condition message'}: ${oneLine(message)}`);
      return {
        reason: 'Unschedulable',
        schedulingCauses: causes,
        message: `pod cannot be scheduled: ${oneLine(message ?? 'no node fits')}`,
        evidence,
        hint: schedulingHint(pod, causes, message ?? ''),
      };
    }
    return {
      reason: 'Pending',
      message: 'pod is Pending and not yet scheduled (no scheduler message)',
      evidence: [`status.phase=Pending`, `spec.nodeName=<none>`],
      hint: `Is a scheduler running? \`kubectl get pods -n kube-system | grep scheduler\`; \`kubectl describe pod -n ${ns} ${name}\`.`,
    };
  }

  const fromContainers = explainContainers(pod, podEvents, opts);
  if (fromContainers) return fromContainers;

  if (phase === 'Pending') {
    const statuses = pod.status?.containerStatuses ?? [];
    const w = statuses.find((s) => s.state?.waiting)?.state?.waiting;
    return {
      reason: 'Pending',
      message: `pod is Pending on node ${pod.spec?.nodeName}${w?.reason ? ` (${w.reason})` : ''}`,
      evidence: [`status.phase=Pending`, `spec.nodeName=${pod.spec?.nodeName}`, ...podEvents.filter((e) => e.type === 'Warning').slice(0, 2).map((e) => `event ${e.reason}: ${oneLine(e.message ?? '')}`)],
      hint: `\`kubectl describe pod -n ${ns} ${name}\` (volumes, sandbox or CNI trouble show in its events).`,
    };
  }

  if (!isPodReady(pod)) {
    const notReady = (pod.status?.containerStatuses ?? []).filter((s) => !s.ready).map((s) => s.name);
    const probe = podEvents.find((e) => e.reason === 'Unhealthy' && /Readiness|Liveness|Startup/i.test(e.message ?? ''));
    const readyCond = (pod.status?.conditions ?? []).find((c) => c.type === 'Ready');
    const evidence = [`status.phase=${phase}`, `Ready=${readyCond?.status ?? 'unknown'}${readyCond?.reason ? ` (${readyCond.reason})` : ''}`];
    if (notReady.length) evidence.push(`containers not ready: ${notReady.join(', ')}`);
    if (probe?.message) evidence.push(`event Unhealthy: ${oneLine(probe.message)}`);
    return {
      reason: 'NotReady',
      ...(notReady[0] ? { container: notReady[0] } : {}),
      message: `pod is ${phase} but not Ready${notReady.length ? ` (containers: ${notReady.join(', ')})` : ''}${probe?.message ? `: ${oneLine(probe.message)}` : ''}`,
      evidence,
      hint: `Its readiness probe fails: \`kubectl describe pod -n ${ns} ${name}\` and \`kubectl logs -n ${ns} ${name}${notReady[0] ? ` -c ${notReady[0]}` : ''}\`.`,
    };
  }
  return undefined;
}
