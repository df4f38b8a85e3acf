/**
 * Cluster checks: can we talk to the API server as an authenticated user, is Kubernetes new enough,
 * is helm there and new enough, and does this machine's clock agree with the API server's.
 */
import semver from 'semver';
import { MIN_VERSIONS } from '../../defaults.js';
import { InsightError } from '../../errors.js';
import { classifyKubeError } from '../../kube/errors.js';
import type { Check, Finding } from '../engine.js';
import type { PreflightContext } from './context.js';
import type { HelmFeatures } from '../../helm/helm.js';
import { formatDuration } from '../../duration.js';

export const CATEGORY = 'cluster';

/** Alibaba Cloud rejects a signed request whose timestamp is off by more than 15 minutes. */
export const SKEW_FATAL_MS = 15 * 60_000;
/** Beyond this the clocks are clearly not synchronised (NTP keeps them within a second). */
export const SKEW_WARN_MS = 2 * 60_000;

export function decideVersion(gitVersion: string, min: string = MIN_VERSIONS.kubernetes): Finding {
  const v = semver.coerce(gitVersion);
  if (!v) return { status: 'failed', severity: 'warning', message: `cannot read the Kubernetes version from "${gitVersion}"`, evidence: [`gitVersion: ${gitVersion}`] };
  if (semver.lt(v, min)) {
    return {
      status: 'failed',
      message: `Kubernetes ${gitVersion} is too old: the chart needs >= ${min.replace(/\.0$/, '')}`,
      evidence: [`gitVersion: ${gitVersion}`],
    };
  }
  return { status: 'passed', message: `Kubernetes ${gitVersion} (>= ${min.replace(/\.0$/, '')})` };
}

/**
 * The skew is measured as |server Date - local time at the middle of the request|; the Date header
 * has one-second resolution, so the error bound is rtt/2 + 1s.
 */
export function decideSkew(serverDate: Date | undefined, localMid: Date, rttMs: number): Finding {
  if (!serverDate || Number.isNaN(serverDate.getTime())) {
    return { status: 'skipped', message: 'the API server sent no Date header: clock skew not measured' };
  }
  const skew = serverDate.getTime() - localMid.getTime();
  const abs = Math.abs(skew);
  const bound = Math.ceil(rttMs / 2) + 1000;
  const human = formatDuration(abs);
  const side = skew > 0 ? 'behind' : 'ahead of';
  const evidence = [`API server Date: ${serverDate.toISOString()}`, `local time: ${localMid.toISOString()}`, `measurement error: ±${bound} ms`];
  if (abs - bound > SKEW_FATAL_MS) {
    return {
      status: 'failed',
      severity: 'fatal',
      message: `this machine's clock is ${human} ${side} the API server's: Alibaba Cloud rejects signed requests beyond 15 minutes (RequestTimeExpired)`,
      evidence,
    };
  }
  if (abs - bound > SKEW_WARN_MS) {
    return { status: 'failed', severity: 'warning', message: `this machine's clock is ${human} ${side} the API server's`, evidence };
  }
  return { status: 'passed', message: `clocks agree with the API server (skew ${human}, ±${bound} ms)`, evidence };
}

export const clusterChecks: Check<PreflightContext>[] = [
  {
    id: 'cluster.api',
    category: CATEGORY,
    description: 'API server reachable and the user authenticated',
    severity: 'fatal',
    hint: 'Check kubeconfig and the current context: `kubectl cluster-info` and `kubectl auth whoami`.',
    async run(ctx) {
      const v = await ctx.serverVersion();
      // /version is readable anonymously on most clusters; a SelfSubjectAccessReview is not
      // (system:basic-user is bound to system:authenticated only), so it proves who we are.
      const op = { verb: 'create', resource: 'selfsubjectaccessreviews.authorization.k8s.io' };
      try {
        await ctx.kube.call(op, () => ctx.kube.authz.createSelfSubjectAccessReview({ body: { spec: { resourceAttributes: { verb: 'get', resource: 'namespaces' } } } }));
      } catch (e) {
        const err = e instanceof InsightError ? e : classifyKubeError(e, op, ctx.kube.server);
        if (err.kind === 'forbidden') {
          return { status: 'failed', message: `the API server at ${ctx.kube.server} treats us as anonymous (a SelfSubjectAccessReview was forbidden)`, hint: 'The kubeconfig user has no valid credentials: refresh the token or client certificate, then `kubectl auth whoami`.', errorKind: 'unauthorized' };
        }
        throw err;
      }
      const who = await ctx.whoami?.();
      return { status: 'passed', message: `API server ${ctx.kube.server} reachable, authenticated${who ? ` as ${who}` : ''} (context ${ctx.kube.context}, ${v.gitVersion})` };
    },
  },
  {
    id: 'cluster.version',
    category: CATEGORY,
    description: `Kubernetes >= ${MIN_VERSIONS.kubernetes}`,
    severity: 'fatal',
    hint: `The chart supports Kubernetes >= ${MIN_VERSIONS.kubernetes.replace(/\.0$/, '')}: upgrade the cluster first.`,
    needs: ['cluster.api'],
    async run(ctx) {
      return decideVersion((await ctx.serverVersion()).gitVersion);
    },
  },
  {
    id: 'cluster.helm',
    category: CATEGORY,
    description: `helm >= ${MIN_VERSIONS.helm} present`,
    severity: 'fatal',
    hint: `Install helm >= ${MIN_VERSIONS.helm} (https://helm.sh/docs/intro/install/) or pass --helm-binary.`,
    async run(ctx) {
      // Helm.features() already turns "missing", "helm 2" and "too old" into tool errors with hints.
      return decideHelm(await ctx.helm.features(), ctx.now());
    },
  },
  {
    id: 'cluster.clock-skew',
    category: CATEGORY,
    description: 'clock of this machine agrees with the API server',
    severity: 'warning',
    hint: 'Synchronise the clocks with NTP (`timedatectl set-ntp true`, chronyd): Alibaba Cloud request signatures expire after 15 minutes.',
    needs: ['cluster.api'],
    async run(ctx) {
      const v = await ctx.serverVersion();
      return decideSkew(v.date, v.localMid ?? ctx.now(), v.rttMs);
    },
  },
];

/** The helm in use, by major; helm 3's end of security fixes as an info finding (a warning once past). */
export function decideHelm(f: Pick<HelmFeatures, 'version' | 'major' | 'securitySupportEnds' | 'serverSideApply'>, now: Date): Finding[] {
  const out: Finding[] = [{ status: 'passed', message: `helm ${f.version} (helm ${f.major}${f.serverSideApply ? ', server-side apply' : ''})` }];
  if (f.securitySupportEnds) {
    const ended = now.getTime() >= Date.parse(`${f.securitySupportEnds}T00:00:00Z`);
    out.push({
      status: 'failed',
      severity: ended ? 'warning' : 'info',
      message: ended
        ? `helm ${f.major} no longer gets security fixes (they ended ${f.securitySupportEnds})`
        : `helm ${f.major} gets security fixes only until ${f.securitySupportEnds}`,
      hint: 'Move to helm 4 (https://helm.sh/docs/intro/install/); kubectl insight works with both (docs/helm.md).',
    });
  }
  return out;
}
