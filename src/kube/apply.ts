/**
 * Server-side apply conflicts: helm 4 applies the release's objects server-side (field manager
 * `helm`), and a field another manager set (`kubectl scale`, `kubectl edit`, a controller) stops it
 * half-way through an upgrade. `findApplyConflicts` asks the API server first, with dry-run applies
 * that change nothing, so an upgrade that would conflict stops before helm touches anything.
 */
import { PatchStrategy, type KubernetesObject, type KubernetesObjectApi } from '@kubernetes/client-node';
import { InsightError } from '../errors.js';
import { classifyKubeError, isApiException } from './errors.js';

export interface ApplyConflict {
  /** `Deployment cms-monitoring/cms-kube-state-metrics`. */
  object: string;
  manager: string;
  subresource?: string;
  fields: string[];
}

/** The manager of every object helm 4 applies (its CLI sets kube.ManagedFieldsManager = "helm"). */
export const HELM_FIELD_MANAGER = 'helm';

/**
 * Reads the API server's conflict text, single or multiple:
 * `Apply failed with 1 conflict: conflict with "kubectl" with subresource "scale" using apps/v1: .spec.replicas`
 * `Apply failed with 2 conflicts: conflicts with "kubectl-edit" using apps/v1:\n- .spec.replicas\n- .spec.x`
 */
export function parseApplyConflicts(message: string): Array<Omit<ApplyConflict, 'object'>> {
  const out: Array<Omit<ApplyConflict, 'object'>> = [];
  const re = /conflicts? with "([^"]+)"(?: with subresource "([^"]+)")?(?: using [^\s:]+)?:([^\n]*)((?:\n- [^\n]*)*)/g;
  for (const m of message.matchAll(re)) {
    const fields = [m[3]!.trim(), ...m[4]!.split('\n').map((l) => l.replace(/^- /, '').trim())].filter(Boolean);
    out.push({ manager: m[1]!, ...(m[2] ? { subresource: m[2] } : {}), fields });
  }
  return out;
}

/** One sentence for a conflict: what owns which field, and where. */
export function describeConflict(c: ApplyConflict): string {
  const who = `field manager "${c.manager}"${c.subresource ? ` (through the ${c.subresource} subresource)` : ''}`;
  return `${c.object}: ${who} owns ${c.fields.length === 1 ? `field ${c.fields[0]}` : `fields ${c.fields.join(', ')}`}`;
}

export type ApplyApi = Pick<KubernetesObjectApi, 'patch'>;

/**
 * Dry-run applies each object as helm would (manager `helm`, no force) and collects the conflicts.
 * Nothing is changed (dryRun=All). Objects are applied one at a time: a release has tens of them.
 */
export async function findApplyConflicts(api: ApplyApi, objects: readonly KubernetesObject[], server?: string): Promise<ApplyConflict[]> {
  const out: ApplyConflict[] = [];
  for (const o of objects) {
    const object = `${o.kind} ${o.metadata?.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata?.name}`;
    try {
      await api.patch(o, undefined, 'All', HELM_FIELD_MANAGER, false, PatchStrategy.ServerSideApply);
    } catch (e) {
      const msg = isApiException(e) && e.code === 409 ? messageOf(e.body) : undefined;
      if (msg !== undefined) {
        for (const c of parseApplyConflicts(msg)) out.push({ object, ...c });
        continue;
      }
      throw classifyKubeError(e, { verb: 'patch', resource: (o.kind ?? '').toLowerCase(), ...(o.metadata?.namespace ? { namespace: o.metadata.namespace } : {}), ...(o.metadata?.name ? { name: o.metadata.name } : {}) }, server);
    }
  }
  return out;
}

function messageOf(body: unknown): string {
  if (typeof body === 'string') {
    try {
      return String((JSON.parse(body) as { message?: string }).message ?? body);
    } catch {
      return body;
    }
  }
  return String((body as { message?: string } | undefined)?.message ?? '');
}

/** The error an upgrade stops with when the dry run found conflicts. */
export function conflictError(conflicts: readonly ApplyConflict[]): InsightError {
  const [first] = conflicts;
  const more = conflicts.length > 1 ? ` (and ${conflicts.length - 1} more: ${conflicts.slice(1).map((c) => c.object).join(', ')})` : '';
  return new InsightError('conflict', `helm would fail half-way: ${describeConflict(first!)}, and helm's server-side apply would change it${more}`, {
    hint: 'Someone changed the release\'s objects outside helm. Nothing was changed. Undo that change, or put it in the values (`--set ...`), or re-run with --force-conflicts to take the fields back for the release.',
    details: { conflicts },
  });
}
