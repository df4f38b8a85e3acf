/** Where the chart comes from, and how helm is told: one place builds the chart part of helm's argv. */
import { existsSync } from 'node:fs';
import { CHART } from '../defaults.js';

export interface ChartSource {
  /** --chart: a local directory or .tgz, an oci:// or http(s):// reference, or repo/name; default the chart name in the repo. */
  chart?: string;
  /** --repo-url: a mirror of the chart repository. */
  repoUrl?: string;
  /** --version */
  version?: string;
}

/** Chart.yaml as `helm show chart` prints it; the action decides what is missing. */
export interface ChartYaml {
  name?: string;
  version?: string;
  appVersion?: string;
}

/** What helm is told about the chart: `<ref> [--repo url] [--version v]`. */
export function chartArgs(src: ChartSource): string[] {
  const c = src.chart;
  const version = src.version ? ['--version', src.version] : [];
  if (!c) return [CHART.name, '--repo', src.repoUrl ?? CHART.repoUrl, ...version];
  if (c.startsWith('oci://')) return [c, ...version];
  if (/^https?:\/\//.test(c)) return src.repoUrl ? [c, '--repo', src.repoUrl, ...version] : [c];
  if (isLocalChart(c)) return [c];
  // repo/name from the user's own `helm repo add`, or a bare name with --repo-url.
  return src.repoUrl ? [c, '--repo', src.repoUrl, ...version] : [c, ...version];
}

export function isLocalChart(c: string): boolean {
  return existsSync(c) || c.startsWith('.') || c.startsWith('/') || c.endsWith('.tgz') || c.endsWith('.tar.gz');
}
