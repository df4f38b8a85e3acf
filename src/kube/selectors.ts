/**
 * Label selectors, by the Kubernetes rules: matchLabels and matchExpressions (In, NotIn, Exists,
 * DoesNotExist) all must hold. A plain label map (a nodeSelector, a Service's spec.selector) is
 * just matchLabels: pass `{ matchLabels: map }`.
 */
import type { V1LabelSelector } from '@kubernetes/client-node';

/**
 * Whether `labels` satisfy `sel`. No selector selects nothing; an empty one selects everything
 * (as for a Deployment or DaemonSet). An unknown operator selects nothing, as the API server would
 * refuse it.
 */
export function matchesSelector(labels: Record<string, string> | undefined, sel: V1LabelSelector | undefined): boolean {
  if (!sel) return false;
  const l = labels ?? {};
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (l[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(l, e.key);
    const values = e.values ?? [];
    switch (e.operator) {
      case 'In':
        if (!has || !values.includes(l[e.key]!)) return false;
        break;
      case 'NotIn':
        if (has && values.includes(l[e.key]!)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/** A Service's spec.selector: like matchLabels, except that an empty or missing map selects nothing. */
export const matchesMap = (labels: Record<string, string> | undefined, sel: Record<string, string> | undefined) =>
  !!sel && Object.keys(sel).length > 0 && matchesSelector(labels, { matchLabels: sel });

/** The selector in the API's `labelSelector` query syntax (`a=b,c in (x,y),d,!e`); '' when it has no terms. */
export function selectorString(sel: V1LabelSelector | undefined): string {
  const parts = Object.entries(sel?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of sel?.matchExpressions ?? []) {
    const vals = (e.values ?? []).join(',');
    if (e.operator === 'In') parts.push(`${e.key} in (${vals})`);
    else if (e.operator === 'NotIn') parts.push(`${e.key} notin (${vals})`);
    else if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
  }
  return parts.join(',');
}

/** selectorString for evidence lines: `<none>` without a selector, `<everything>` for an empty one. */
export const describeSelector = (sel: V1LabelSelector | undefined): string => (sel ? selectorString(sel) || '<everything>' : '<none>');
