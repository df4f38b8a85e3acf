/**
 * What a helm release's state means, once: one verdict with one hint, asked by install, upgrade,
 * uninstall, preflight and doctor, so their advice never contradicts itself. The chart is part of the
 * release's identity: a release of another chart under our name is never ours to upgrade or uninstall
 * (without --force), and never one to install over.
 */
import { CHART } from '../defaults.js';
import { formatDuration } from '../duration.js';
import { InsightError } from '../errors.js';
import type { HelmRelease } from './release.js';

/** What the verdict reads of a release (src/helm/release.ts): a `helm list` row or a stored record. */
export type ReleaseFacts = Pick<HelmRelease, 'name' | 'namespace' | 'status' | 'revision' | 'chart' | 'chartName'>;

export type ReleaseState =
  | 'absent'
  | 'deployed'
  /** The first install failed: nothing ever ran; `install --replace` may go over it. */
  | 'failed-install'
  /** The last upgrade or rollback failed; an earlier revision worked. */
  | 'failed'
  | 'pending-install'
  | 'pending-upgrade'
  | 'pending-rollback'
  | 'uninstalling'
  /** Uninstalled with --keep-history: only the record is left; install reuses the name. */
  | 'uninstalled'
  | 'unknown';

export interface ReleaseVerdict {
  state: ReleaseState;
  /** The release runs our chart (false: another chart under this release name). */
  ourChart: boolean;
  /** The chart's name as helm recorded it. */
  chartName?: string;
  /** One line: what this state is. */
  message: string;
  /** The one command that moves on from here. */
  hint: string;
  /** May install go ahead? `replace`: only over a failed first install, with --replace (or an uninstalled record). */
  install: 'proceed' | 'replace' | 'refuse';
  upgrade: 'proceed' | 'refuse';
  uninstall: 'proceed' | 'refuse';
  /** Healthy for doctor: deployed and ours. */
  healthy: boolean;
}

/** `loongcollector-cluster-insight-1.2.0` → `loongcollector-cluster-insight`; `foo-bar-v2.0.0-rc.1` → `foo-bar`. */
export function chartNameOf(chartColumn: string): string {
  // The longest name before a version of at least major.minor: `ours-v2-1.0.0` is the chart `ours-v2`.
  return /^(.+)-v?\d+\.\d+(?:\.\d+)?(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/.exec(chartColumn)?.[1] ?? chartColumn;
}

/** The version part of the chart column: `loongcollector-cluster-insight-1.0.0` → `1.0.0`. */
export function chartVersionOf(chart: string, name: string = CHART.name): string {
  return chart.startsWith(`${name}-`) ? chart.slice(name.length + 1) : (chart.match(/-(\d+\.\d+\.\d+.*)$/)?.[1] ?? chart);
}

/** The chart to install or upgrade to is ours by name; another name is a mistake in --chart, or a fork (--force). */
export function checkTargetChart(name: string, force: boolean, chartName: string = CHART.name): void {
  if (name === chartName || force) return;
  throw new InsightError('invalid-input', `--chart is chart ${name}, not ${chartName}`, {
    hint: 'Check --chart. For a renamed fork of the chart, add --force. Nothing was changed.',
  });
}

export function judgeRelease(rel: ReleaseFacts | undefined, chartName: string = CHART.name): ReleaseVerdict {
  if (!rel) {
    return { state: 'absent', ourChart: true, message: 'not installed', hint: 'Install it with `kubectl insight install`.', install: 'proceed', upgrade: 'refuse', uninstall: 'proceed', healthy: false };
  }
  const where = `-n ${rel.namespace}${rel.name !== CHART.release ? ` --release ${rel.name}` : ''}`;
  const name = rel.chartName ?? chartNameOf(rel.chart);
  const ourChart = name === chartName;
  const at = `release ${rel.namespace}/${rel.name}`;
  if (!ourChart) {
    return {
      state: stateOf(rel),
      ourChart,
      chartName: name,
      message: `${at} runs chart ${rel.chart}, not ${chartName}`,
      hint: `That release belongs to another application: pick another --release/-n for ours. kubectl insight upgrades or uninstalls it only with --force.`,
      install: 'refuse',
      upgrade: 'refuse',
      uninstall: 'refuse',
      healthy: false,
    };
  }
  const base = { ourChart, chartName: name };
  const prev = Math.max(1, rel.revision - 1);
  switch (stateOf(rel)) {
    case 'deployed':
      return { ...base, state: 'deployed', message: `release ${rel.name} in ${rel.namespace} is deployed (${rel.chart}, revision ${rel.revision})`, hint: `Change values or versions with \`kubectl insight upgrade ${where}\`.`, install: 'refuse', upgrade: 'proceed', uninstall: 'proceed', healthy: true };
    case 'failed-install':
      return { ...base, state: 'failed-install', message: `a previous install of ${rel.name} failed (${rel.chart}); the release record is still there`, hint: `Install over it with \`kubectl insight install ${where} --replace ...\`, or remove it with \`kubectl insight uninstall ${where}\`.`, install: 'replace', upgrade: 'refuse', uninstall: 'proceed', healthy: false };
    case 'failed':
      return { ...base, state: 'failed', message: `the last upgrade of ${rel.name} failed (revision ${rel.revision}, ${rel.chart})`, hint: `Retry with \`kubectl insight upgrade ${where}\`, or go back with \`helm rollback ${rel.name} ${prev} -n ${rel.namespace}\`.`, install: 'refuse', upgrade: 'proceed', uninstall: 'proceed', healthy: false };
    case 'pending-install':
      return { ...base, state: 'pending-install', message: `release ${rel.name} is stuck in pending-install (revision ${rel.revision}): an install was interrupted or is still running`, hint: `If no install is running, remove the half-done release with \`kubectl insight uninstall ${where}\`, then install again.`, install: 'refuse', upgrade: 'refuse', uninstall: 'proceed', healthy: false };
    case 'pending-upgrade':
    case 'pending-rollback':
      return { ...base, state: stateOf(rel), message: `release ${rel.name} is stuck in ${rel.status} (revision ${rel.revision}): a helm operation was interrupted or is still running`, hint: `If no helm operation is running, restore the last good revision with \`helm rollback ${rel.name} ${prev} -n ${rel.namespace}\`, then \`kubectl insight upgrade ${where}\`.`, install: 'refuse', upgrade: 'refuse', uninstall: 'proceed', healthy: false };
    case 'uninstalling':
      return { ...base, state: 'uninstalling', message: `release ${rel.name} is being uninstalled (or an uninstall was interrupted)`, hint: `Finish it with \`kubectl insight uninstall ${where}\`.`, install: 'refuse', upgrade: 'refuse', uninstall: 'proceed', healthy: false };
    case 'uninstalled':
      return { ...base, state: 'uninstalled', message: `release ${rel.name} was uninstalled; only its history is kept`, hint: `Install it again with \`kubectl insight install ${where}\`.`, install: 'replace', upgrade: 'refuse', uninstall: 'proceed', healthy: false };
    default:
      return { ...base, state: 'unknown', message: `release ${rel.name} is in state ${rel.status}`, hint: `Inspect it with \`helm status ${rel.name} -n ${rel.namespace}\`.`, install: 'refuse', upgrade: 'refuse', uninstall: 'proceed', healthy: false };
  }
}

function stateOf(rel: ReleaseFacts): ReleaseState {
  switch (rel.status) {
    case 'deployed':
    case 'pending-install':
    case 'pending-upgrade':
    case 'pending-rollback':
    case 'uninstalling':
    case 'uninstalled':
      return rel.status;
    case 'failed':
      return rel.revision <= 1 ? 'failed-install' : 'failed';
    // helm list shows the latest revision, which is never superseded; treat it as unknown if seen.
    default:
      return 'unknown';
  }
}

/** How doctor --fix repairs a release state, or why it will not (yet). */
export type ReleaseRemedy =
  | { kind: 'uninstall'; revision: number; ageMs?: number }
  | { kind: 'rollback'; revision: number; toRevision: number; ageMs?: number }
  | { kind: 'none'; why: string; ageMs?: number };

/** What the remedy reads of a stored release (src/helm/storage.ts). */
export type RemedyFacts = ReleaseFacts & { history: ReadonlyArray<{ revision: number; status: string }>; since?: string };

/**
 * The revision a repair returns to: the newest earlier one still marked deployed, which is what ran
 * before the interrupted or failed operation. Superseded revisions are never picked: after an
 * uninstall with --keep-history and a new install, they belong to the installation that was removed.
 */
export function lastGoodRevision(rel: RemedyFacts): number | undefined {
  return rel.history.filter((h) => h.revision < rel.revision && h.status === 'deployed').at(-1)?.revision;
}

/**
 * The one rule for repairing a stuck release. helm keeps no lock: a `pending-*` release looks the same
 * while its operation still runs, so it is repaired only once it is older than that operation's
 * timeout (an unknown age is never old enough). A failed upgrade is rolled back at any age.
 */
export function releaseRemedy(rel: RemedyFacts | undefined, now: Date, operationTimeoutMs: number): ReleaseRemedy | undefined {
  const v = judgeRelease(rel);
  if (!rel || !v.ourChart) return undefined;
  // Both clocks are read to the second (creationTimestamp, the Date header): so is the age.
  const ageMs = rel.since ? Math.max(0, Math.floor((now.getTime() - new Date(rel.since).getTime()) / 1000) * 1000) : undefined;
  const aged = { ...(ageMs !== undefined ? { ageMs } : {}) };
  const young = (what: string): ReleaseRemedy | undefined => {
    if (ageMs === undefined) return { kind: 'none', why: `the age of revision ${rel.revision} is unknown, so a ${what} may still be running (helm keeps no lock)` };
    if (ageMs < operationTimeoutMs) {
      return { kind: 'none', why: `revision ${rel.revision} has been ${rel.status} for ${formatDuration(ageMs)}, less than the operation timeout (${formatDuration(operationTimeoutMs)}): a ${what} may still be running (helm keeps no lock)`, ...aged };
    }
    return undefined;
  };
  const rollback = (): ReleaseRemedy => {
    const to = lastGoodRevision(rel);
    return to === undefined ? { kind: 'none', why: `no earlier revision of ${rel.name} is marked deployed, so there is nothing safe to return to`, ...aged } : { kind: 'rollback', revision: rel.revision, toRevision: to, ...aged };
  };
  switch (v.state) {
    case 'pending-install':
      return young('install') ?? { kind: 'uninstall', revision: rel.revision, ...aged };
    case 'pending-upgrade':
      return young('upgrade') ?? rollback();
    case 'pending-rollback':
      return young('rollback') ?? rollback();
    case 'failed':
      return rollback();
    default:
      return undefined;
  }
}
