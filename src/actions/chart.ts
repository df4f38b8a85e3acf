/**
 * The chart: where it comes from (checked before anything else), its metadata and defaults, and the
 * render that tells install and upgrade which objects, workloads and CRDs they will create. helm's
 * chart failures are said in the user's terms here.
 */
import { existsSync } from 'node:fs';
import type { Helm } from '../helm/helm.js';
import { CHART } from '../defaults.js';
import { InsightError } from '../errors.js';
import { isLocalChart, type ChartSource } from '../helm/chart.js';
import type { ManifestDoc } from '../helm/release.js';
import { workloadsInManifests, type WorkloadRef } from '../kube/rollout.js';
import type { Values } from '../values/tree.js';
import { textOf } from '../text.js';

/** Refuse a local chart path that does not exist before anything else happens. */
export function checkChartSource(src: ChartSource): void {
  const c = src.chart;
  if (!c) return;
  if (isLocalChart(c) && !existsSync(c)) {
    throw new InsightError('invalid-input', `chart not found: ${c} does not exist`, { hint: 'Pass a chart directory or .tgz to --chart, an oci:// or https:// reference, or leave --chart out to use the official repository.' });
  }
  if (src.version && isLocalChart(c)) {
    throw new InsightError('usage', '--version cannot be used with a local chart (--chart is a path)', { hint: 'The version of a local chart is the one in its Chart.yaml.' });
  }
}

export interface RenderedChart {
  manifests: string;
  docs: ManifestDoc[];
  workloads: WorkloadRef[];
  /** CRDs from the chart's crds/ directory (helm creates them only when absent, never updates them). */
  crdsDir: string[];
  /** CRDs rendered from templates/ (helm owns those: they conflict with another release's). */
  crdsTemplated: string[];
  chart: { name: string; version: string; appVersion?: string };
}

/** Say which chart source failed, in the user's terms (helm's own line stays in details). */
export function chartSourceError(e: unknown, src: ChartSource): unknown {
  if (!(e instanceof InsightError)) return e;
  const helmLine = textOf(e.details?.helm, e.message);
  const where = src.chart ?? `${CHART.name} from ${src.repoUrl ?? CHART.repoUrl}`;
  if (/is not a valid chart repository or cannot be reached|no such host|connection refused|i\/o timeout|TLS handshake|x509/i.test(helmLine)) {
    return new InsightError('failed', `cannot fetch the chart ${where}: ${helmLine.replace(/^helm \w+ failed: /, '')}`, {
      hint: 'Check the network to the chart repository, use --repo-url for a reachable mirror, or download the chart elsewhere (`helm pull`) and pass the .tgz with --chart. Nothing was changed.',
      details: e.details,
    });
  }
  if (e.kind === 'invalid-input' || /not found|no chart version|no chart name/i.test(helmLine)) {
    return new InsightError('invalid-input', `chart not found: ${where}${src.version ? ` version ${src.version}` : ''} (${helmLine.replace(/^helm \w+ failed: /, '').replace(/^chart not found: /, '')})`, {
      hint: 'Check --chart, --repo-url and --version (`helm search repo --versions` lists versions). Nothing was changed.',
      details: e.details,
    });
  }
  return e;
}

async function helmChart<T>(src: ChartSource, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw chartSourceError(e, src);
  }
}

export async function chartMetadata(helm: Pick<Helm, 'showChart'>, src: ChartSource): Promise<{ name: string; version: string; appVersion?: string }> {
  const meta = await helmChart(src, () => helm.showChart(src));
  if (!meta.name || !meta.version) throw new InsightError('invalid-input', 'the chart has no name or version in Chart.yaml', { hint: 'Check --chart.' });
  return { name: meta.name, version: String(meta.version), ...(meta.appVersion ? { appVersion: String(meta.appVersion) } : {}) };
}

export async function chartDefaults(helm: Pick<Helm, 'showValues'>, src: ChartSource): Promise<Values> {
  return await helmChart(src, () => helm.showValues(src));
}

/** `helm template` with the user's values: the manifests, workloads and CRDs the install will create. */
export async function renderChart(helm: Pick<Helm, 'template' | 'showChart'>, src: ChartSource, release: string, namespace: string, values: Values, kubeVersion?: string): Promise<RenderedChart> {
  const { manifests, docs } = await helmChart(src, () => helm.template({ release, namespace, chart: src, values, ...(kubeVersion ? { kubeVersion } : {}) }));
  const crds = docs.filter((d) => d.kind === 'CustomResourceDefinition' && d.metadata?.name);
  const fromDir = (d: ManifestDoc) => /(^|\/)crds\//.test(d.source ?? '') && !/\/templates\//.test(d.source ?? '');
  const chart = await chartMetadata(helm, src);
  return {
    manifests,
    docs,
    workloads: workloadsInManifests(docs, namespace),
    crdsDir: crds.filter(fromDir).map((d) => d.metadata!.name!),
    crdsTemplated: crds.filter((d) => !fromDir(d)).map((d) => d.metadata!.name!),
    chart,
  };
}
