/**
 * When something does not arrive, the collector's own log usually says why: it logs every failed send
 * with the SLS error code. The log is a file in the container (not stdout), so it is read with a
 * bounded `tail` through pods/exec; where exec is refused or the container has no shell, the
 * container's stdout log is read instead.
 */
import type { V1Pod } from '@kubernetes/client-node';
import type { Check, Finding } from '../engine.js';
import type { VerifyContext } from './context.js';
import { matchSignatures } from './signatures.js';

export const CATEGORY = 'collector';

/** Where loongcollector (open-source image) and ilogtail (Alibaba builds) write their log. */
export const COLLECTOR_LOG_FILES = ['/usr/local/loongcollector/log/loongcollector.LOG', '/usr/local/ilogtail/ilogtail.LOG'] as const;

/** `tail` of the first log file that exists; the line count is a number we made, never user text. */
export function tailCommand(lines: number): string[] {
  const n = Math.max(1, Math.min(10_000, Math.floor(lines)));
  return ['sh', '-c', COLLECTOR_LOG_FILES.map((f) => `tail -n ${n} ${f} 2>/dev/null`).join(' || ')];
}

/** The collector containers of the release: loongcollector/ilogtail images or names, not the operator. */
export function collectorContainers(pods: readonly V1Pod[]): { pod: V1Pod; container: string }[] {
  const out: { pod: V1Pod; container: string }[] = [];
  for (const pod of pods) {
    if (pod.status?.phase !== 'Running' || /operator/.test(pod.metadata?.name ?? '')) continue;
    const c = (pod.spec?.containers ?? []).find((x) => /loongcollector|ilogtail|logtail/.test(`${x.name} ${x.image ?? ''}`) && !/operator/.test(`${x.name} ${x.image ?? ''}`));
    if (c) out.push({ pod, container: c.name });
  }
  return out;
}

export const collectorChecks: Check<VerifyContext>[] = [
  {
    id: 'collector.logs',
    category: CATEGORY,
    description: 'The collectors\' own logs, read when data does not arrive, for send failures',
    severity: 'fatal',
    async run(ctx) {
      if (ctx.logs === 'arriving') return { status: 'passed', message: 'not read: everything above arrives' };
      if (ctx.logs === 'blind') return { status: 'skipped', message: 'not read: the checks above failed before they could see whether data arrives' };
      const targets = collectorContainers(await ctx.cluster.pods());
      if (!targets.length) return { status: 'failed', severity: 'warning', message: `no running collector pod in ${ctx.input.namespace} to read a log from`, hint: 'Run `kubectl insight doctor --only pods`.' };
      const findings: Finding[] = [];
      const unread: string[] = [];
      const clean: string[] = [];
      // A handful of collectors tells the cause; reading every DaemonSet pod on a large cluster would not.
      for (const { pod, container } of targets.slice(0, 5)) {
        const name = `${pod.metadata?.namespace}/${pod.metadata?.name}`;
        const log = await ctx.cluster.collectorLog(pod, container, ctx.input.logLines);
        if ('error' in log) {
          unread.push(`${name}: ${log.error}`);
          continue;
        }
        const hits = matchSignatures(log.text);
        if (!hits.length) clean.push(`${name} (${log.via})`);
        for (const h of hits) {
          findings.push({
            status: 'failed',
            object: `pod/${name}`,
            message: `${h.signature.title}: ${h.code}${h.count > 1 ? ` (${h.count} lines)` : ''}${h.endpoint ? ` to ${h.endpoint}` : ''}`,
            evidence: [`${log.via}: ${h.line}`],
            hint: h.signature.fix,
          });
        }
      }
      if (findings.length) return findings;
      if (unread.length && !clean.length) return { status: 'failed', severity: 'warning', message: 'could not read any collector log', evidence: unread, hint: 'Reading the log needs pods/exec (or pods/log) in the release namespace.' };
      return { status: 'passed', message: `no send failure in the last ${ctx.input.logLines} log lines of ${clean.join(', ')}`, ...(unread.length ? { evidence: unread } : {}) };
    },
  },
];
