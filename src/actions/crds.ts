/**
 * The chart's CRDs: who owns each one already, the notes for the user, the absent ones created
 * without helm (so helm never sends an existing CRD), and the wait until they are Established.
 */
import type { Kube } from '../kube/client.js';
import { CR, FIELD_MANAGER } from '../defaults.js';
import { InsightError } from '../errors.js';
import type { RenderedChart } from './chart.js';
import type { StepReporter } from './steps.js';
import { getPath, type Values } from '../values/tree.js';
import { textOf } from '../text.js';

export type CrdKube = Pick<Kube, 'apiext' | 'custom' | 'apps' | 'call' | 'ifFound' | 'delete'>;

export interface CrdFinding {
  name: string;
  /**
   * absent: the chart creates it; ours: already from this release; foreign: another helm release's,
   * left alone; unmanaged: exists without helm ownership (who uses it is in `owner`, when known).
   */
  state: 'absent' | 'ours' | 'foreign' | 'unmanaged';
  owner?: string;
  /** Whether helm will manage it (templates/) or only create it if absent (crds/). */
  managedBy: 'crds-dir' | 'template';
}

/** Who owns each CRD the chart brings; templated CRDs owned by another release would make helm fail. */
export async function inspectCrds(kube: CrdKube, rendered: RenderedChart, release: string, namespace: string): Promise<CrdFinding[]> {
  const out: CrdFinding[] = [];
  const all = [...rendered.crdsDir.map((n) => [n, 'crds-dir'] as const), ...rendered.crdsTemplated.map((n) => [n, 'template'] as const)];
  const unlabelled: CrdFinding[] = [];
  for (const [name, managedBy] of all) {
    const crd = await kube.ifFound({ verb: 'get', resource: 'customresourcedefinitions.apiextensions.k8s.io', name }, () => kube.apiext.readCustomResourceDefinition({ name }));
    if (!crd) {
      out.push({ name, state: 'absent', managedBy });
      continue;
    }
    const a = crd.metadata?.annotations ?? {};
    const rel = a['meta.helm.sh/release-name'];
    const relNs = a['meta.helm.sh/release-namespace'];
    if (rel === release && relNs === namespace) out.push({ name, state: 'ours', managedBy });
    else if (rel) out.push({ name, state: 'foreign', owner: `helm release ${relNs}/${rel}`, managedBy });
    else {
      // helm puts no ownership on CRDs from crds/ (ours or kube-prometheus-stack's): who uses them shows
      // only in their objects and in the Prometheus Operators watching them.
      const f: CrdFinding = { name, state: 'unmanaged', managedBy };
      out.push(f);
      unlabelled.push(f);
    }
  }
  if (unlabelled.length) {
    try {
      const { inspectCrdsOwnership } = await import('../kube/ownership.js');
      const decisions = await inspectCrdsOwnership(kube, unlabelled.map((f) => f.name), { release, namespace });
      for (const d of decisions) {
        const f = unlabelled.find((x) => x.name === d.crd)!;
        const owners = [...new Set([...d.foreign.map((o) => o.owner), ...d.users])];
        if (owners.length) f.owner = `used by ${owners.slice(0, 3).join(', ')}${owners.length > 3 ? ', …' : ''}`;
        else if (d.ours.length) f.state = 'ours';
      }
    } catch (e) {
      // Listing every object of a kind needs cluster-wide read; without it we only know the CRD exists.
      if (!(e instanceof InsightError && e.kind === 'forbidden')) throw e;
    }
  }
  return out;
}

/** One line per CRD that someone else has or uses (and one for the rest that exist), for the user. */
export function crdNotes(crds: readonly CrdFinding[], mode: 'install' | 'upgrade' = 'install'): string[] {
  const notes: string[] = [];
  const quiet: string[] = [];
  for (const c of crds) {
    if (c.state === 'foreign' || (c.state === 'unmanaged' && c.owner)) {
      notes.push(`CRD ${c.name} already exists (${c.owner}): kept as is, not taken over${c.managedBy === 'crds-dir' ? ' (helm does not touch CRDs that exist)' : ''}`);
    } else if (c.state === 'unmanaged') quiet.push(c.name);
  }
  if (mode === 'install' && quiet.length) notes.push(`${quiet.length} of the chart's CRDs already exist with no other users (from an earlier install?): kept as they are`);
  return notes;
}

/**
 * When some of the chart's crds/ CRDs exist already, helm is told to skip crds/ and the absent ones
 * are created here, with a plain create: helm 4 applies crds/ server-side, and an apply to an existing
 * CRD (kube-prometheus-stack's ServiceMonitor, say) would change it or fail on a field-manager
 * conflict. helm 3 would only create; doing the same on both majors keeps one behaviour. A CRD that
 * appears in the meantime is left as it is (AlreadyExists).
 */
export async function createAbsentCrds(kube: CrdKube, rendered: RenderedChart, crds: readonly CrdFinding[], deadline: number, report: StepReporter): Promise<string[]> {
  const absent = new Set(crds.filter((c) => c.managedBy === 'crds-dir' && c.state === 'absent').map((c) => c.name));
  const created: string[] = [];
  for (const d of rendered.docs) {
    const name = d.metadata?.name;
    if (d.kind !== 'CustomResourceDefinition' || !name || !absent.has(name) || !rendered.crdsDir.includes(name)) continue;
    const { source: _source, ...body } = d;
    try {
      await kube.call({ verb: 'create', resource: 'customresourcedefinitions.apiextensions.k8s.io', name }, () => kube.apiext.createCustomResourceDefinition({ body: body as never, fieldManager: FIELD_MANAGER }), { idempotent: false });
      created.push(name);
    } catch (e) {
      if (!(e instanceof InsightError && e.kind === 'conflict')) throw e;
    }
  }
  if (created.length) await waitEstablished(kube, created, deadline, report);
  return created;
}

async function waitEstablished(kube: CrdKube, names: readonly string[], deadline: number, report: StepReporter): Promise<void> {
  const pending = new Set(names);
  while (pending.size) {
    for (const name of [...pending]) {
      const crd = await kube.ifFound({ verb: 'get', resource: 'customresourcedefinitions.apiextensions.k8s.io', name }, () => kube.apiext.readCustomResourceDefinition({ name }));
      if ((crd?.status?.conditions ?? []).some((c) => c.type === 'Established' && c.status === 'True')) pending.delete(name);
    }
    if (!pending.size) break;
    if (Date.now() > deadline) throw new InsightError('timeout', `CRDs not established: ${[...pending].join(', ')}`, { hint: 'Check the API server: `kubectl get crd ' + [...pending][0] + ' -o yaml`.' });
    report.progress(`waiting for ${pending.size} CRD(s) to be established`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Wait until the CRDs are Established and the entity collector's custom resource exists. */
export async function verifyInstall(kube: CrdKube, rendered: RenderedChart, values: Values, deadline: number, report: StepReporter): Promise<{ crds: string[]; customResource?: { name: string; present: boolean } }> {
  const crds = [...rendered.crdsDir, ...rendered.crdsTemplated];
  await waitEstablished(kube, crds, deadline, report);
  const hasCr = rendered.docs.some((d) => d.kind === CR.kind);
  if (!hasCr) return { crds };
  const clusterID = textOf(getPath(values, 'clusterID'));
  const name = rendered.docs.find((d) => d.kind === CR.kind)?.metadata?.name ?? CR.entityCollectorName(clusterID);
  const cr = await kube.ifFound<unknown>({ verb: 'get', resource: `${CR.plural}.${CR.group}`, name }, () => kube.custom.getClusterCustomObject({ group: CR.group, version: CR.version, plural: CR.plural, name }));
  if (cr === undefined) throw new InsightError('failed', `the custom resource ${CR.kind} ${name} is missing after the install`, { hint: 'Run `kubectl insight doctor`; the chart should have created it.' });
  return { crds, customResource: { name, present: true } };
}

