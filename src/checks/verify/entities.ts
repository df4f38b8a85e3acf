/**
 * Is the cluster's topology in the workspace? The entity collector re-sends the `k8s.cluster` entity
 * every keep-alive period (60 s); GetEntityStoreData (SPL `.entity with(...)`) shows when it was last
 * seen, and how many node and pod entities of this cluster the workspace holds.
 */
import { entityQuery, type EntityTable } from '../../cloud/entities.js';
import type { Check, Finding } from '../engine.js';
import type { VerifyContext } from './context.js';

export const CATEGORY = 'entities';

const WINDOW_MS = 60 * 60 * 1000;
const DEFAULT_KEEP_ALIVE_S = 60;
/** Missed re-sends tolerated before the entity counts as not arriving. */
const KEEP_ALIVE_MISSES = 3;

/** Column names vary between entity-store versions: the first present one is used. */
const LAST_SEEN = ['__last_observed_time__', 'last_observed_time', '__time__', 'update_time'];
const KEEP_ALIVE = ['__keep_alive_seconds__', 'keep_alive_seconds'];
const NAME = ['name', '__entity_name__', 'node_name', 'pod_name'];

const pick = (row: Record<string, string>, cols: readonly string[]) => cols.map((c) => row[c]).find((v) => v !== undefined && v !== '');

/** Unix seconds or milliseconds, or an ISO date, as ms. */
export function parseTime(v: string | undefined): number | undefined {
  if (!v) return undefined;
  const n = Number(v);
  if (Number.isFinite(n)) return n > 1e12 ? n : n * 1000;
  const d = Date.parse(v);
  return Number.isNaN(d) ? undefined : d;
}

/** The rows seen within their keep-alive window, and the newest sighting. */
export function freshRows(t: EntityTable, nowMs: number): { fresh: Record<string, string>[]; newestMs?: number; windowMs: number } {
  let newestMs: number | undefined;
  let windowMs = DEFAULT_KEEP_ALIVE_S * KEEP_ALIVE_MISSES * 1000;
  const fresh: Record<string, string>[] = [];
  for (const row of t.rows) {
    const seen = parseTime(pick(row, LAST_SEEN));
    const keep = Number(pick(row, KEEP_ALIVE) ?? DEFAULT_KEEP_ALIVE_S);
    const w = (Number.isFinite(keep) && keep > 0 ? keep : DEFAULT_KEEP_ALIVE_S) * KEEP_ALIVE_MISSES * 1000;
    windowMs = Math.max(windowMs, w);
    if (seen === undefined) continue;
    if (newestMs === undefined || seen > newestMs) newestMs = seen;
    if (nowMs - seen <= w) fresh.push(row);
  }
  return { fresh, ...(newestMs !== undefined ? { newestMs } : {}), windowMs };
}

const ago = (ms: number) => (ms < 120_000 ? `${Math.round(ms / 1000)}s` : `${Math.round(ms / 60_000)}m`);

async function table(ctx: VerifyContext, type: string, signal: AbortSignal) {
  const to = ctx.now();
  const r = await ctx.cloud.entities(ctx.input.creds, ctx.input.region, ctx.input.workspace!, { query: entityQuery(type, ctx.input.clusterId), from: new Date(to.getTime() - WINDOW_MS), to }, ctx.callOpts(signal));
  // Reading the entity store is its own permission; the write policy's hint would mislead.
  if (!r.ok && r.error.code === 'Forbidden') return { ...r, error: { ...r.error, hint: 'Grant cms:GetEntityStoreData (reading the workspace\'s entity store) to this RAM user.' } };
  return r;
}

export const entityChecks: Check<VerifyContext>[] = [
  {
    id: 'entities.cluster',
    category: CATEGORY,
    description: 'The k8s.cluster entity of this cluster is in the workspace and recently seen (GetEntityStoreData)',
    severity: 'fatal',
    async run(ctx, signal) {
      if (!ctx.input.workspace) return { status: 'failed', message: 'no workspace: the release has no `workspace` value', hint: 'Pass --workspace.' };
      const r = await table(ctx, 'k8s.cluster', signal);
      if (!r.ok) return ctx.failure('entities.cluster', r.error, `the entity store of workspace ${ctx.input.workspace}`);
      const now = ctx.now().getTime();
      const { fresh, newestMs, windowMs } = freshRows(r.value, now);
      const object = `entity/k8s.cluster/${ctx.input.clusterId}`;
      if (!r.value.rows.length) {
        ctx.notArriving('entities.cluster', 'entities/k8s.cluster');
        return {
          status: 'failed',
          object,
          message: `workspace ${ctx.input.workspace} has no k8s.cluster entity for cluster ${ctx.input.clusterId} in the last hour`,
          hint: 'The entity collector sends nothing: check its pod (`kubectl insight doctor --only pods`), entityCollector.projectName and region; see the collector findings below.',
        };
      }
      if (!fresh.length) {
        ctx.notArriving('entities.cluster', 'entities/k8s.cluster');
        return {
          status: 'failed',
          object,
          message: `the k8s.cluster entity was last seen ${newestMs !== undefined ? `${ago(now - newestMs)} ago` : 'at an unknown time'}: outside its keep-alive window (${ago(windowMs)})`,
          hint: 'It arrived before and stopped: the entity collector is down or cannot send; see the collector findings below.',
        };
      }
      return { status: 'passed', object, message: `cluster entity ${ctx.input.clusterId} seen ${ago(Math.max(0, now - newestMs!))} ago in workspace ${ctx.input.workspace}` };
    },
  },
  {
    id: 'entities.inventory',
    category: CATEGORY,
    description: 'Node and pod entities of this cluster match the cluster\'s nodes and pods',
    severity: 'warning',
    needs: ['entities.cluster'],
    async run(ctx, signal) {
      const [nodes, podCount] = await Promise.all([ctx.cluster.nodes(), ctx.cluster.podCount()]);
      const now = ctx.now().getTime();
      const out: Finding[] = [];
      const nodeRows = await table(ctx, 'k8s.node', signal);
      if (!nodeRows.ok) return ctx.failure('entities.inventory', nodeRows.error, `the entity store of workspace ${ctx.input.workspace}`);
      const freshNodes = freshRows(nodeRows.value, now).fresh;
      const names = new Set(freshNodes.map((r) => pick(r, NAME)).filter(Boolean));
      const absent = nodes.map((n) => n.metadata?.name ?? '').filter((n) => n && !names.has(n));
      out.push(
        absent.length && freshNodes.length < nodes.length
          ? { status: 'failed', object: 'entity/k8s.node', message: `${freshNodes.length} node entities for ${nodes.length} nodes; missing: ${absent.slice(0, 10).join(', ')}${absent.length > 10 ? ', ...' : ''}`, hint: 'New nodes appear within a keep-alive period; if they stay missing, the entity collector cannot list nodes (RBAC) or cannot send.' }
          : { status: 'passed', object: 'entity/k8s.node', message: `${freshNodes.length} node entities for ${nodes.length} nodes` },
      );
      const podRows = await table(ctx, 'k8s.pod', signal);
      if (!podRows.ok) return ctx.failure('entities.inventory', podRows.error, `the entity store of workspace ${ctx.input.workspace}`);
      const freshPods = freshRows(podRows.value, now).fresh.length;
      // Pods come and go between the two reads: only a clear shortfall is reported.
      out.push(
        freshPods < podCount * 0.9
          ? { status: 'failed', object: 'entity/k8s.pod', message: `${freshPods} pod entities for ${podCount} pods in the cluster`, hint: 'The entity collector sends part of the topology: check its log for send failures and its RBAC (list pods in all namespaces).' }
          : { status: 'passed', object: 'entity/k8s.pod', message: `${freshPods} pod entities for ${podCount} pods in the cluster` },
      );
      return out;
    },
  },
];
