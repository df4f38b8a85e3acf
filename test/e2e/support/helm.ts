// Which helm the e2e run uses, for test names and for flags that differ between majors.
import { execFileSync } from 'node:child_process';

/**
 * `helm list` in every state on both majors: helm 4 dropped -a/--all, and both take the state flags
 * (all six together are what -a means on helm 3).
 */
export const HELM_LIST_ALL = ['--deployed', '--failed', '--pending', '--superseded', '--uninstalled', '--uninstalling'] as const;

let cached: string | undefined;
/** `helm` on PATH as the run sees it: "helm v4.3.1". */
export function helmLabel(bin = 'helm'): string {
  if (bin === 'helm' && cached) return cached;
  const v = execFileSync(bin, ['version', '--template', '{{.Version}}'], { encoding: 'utf8' }).trim();
  const label = `helm ${v}`;
  if (bin === 'helm') cached = label;
  return label;
}

export function helmMajor(bin = 'helm'): number {
  return Number(/^helm v?(\d+)/.exec(helmLabel(bin))?.[1] ?? 0);
}
