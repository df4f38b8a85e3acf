/**
 * A fleet run of one command: for each context its own Configuration (clients, helm), the reachability
 * check and the inventory first, then the command's work; every outcome in the targets' order.
 */
import { Configuration } from '../configuration.js';
import { lookupRelease, type ReleaseLookup } from './inventory.js';
import { runFleet, type ContextFailure, type FleetRunOptions } from './run.js';
import type { FleetTarget } from './targets.js';

export interface FleetConnection {
  kubeconfig?: string | undefined;
  'helm-binary'?: string | undefined;
}

/** What was found on a context before its checks ran. */
export interface ContextFacts {
  server: string;
  kubernetesVersion: string;
  release: ReleaseLookup;
}

export type FleetEntry<R> = { target: FleetTarget; durationMs: number } & ({ ok: true; facts: ContextFacts; value: R } | { ok: false; failure: ContextFailure });

export interface FleetWork<R> {
  /** Sockets of each context's pooled API client. */
  maxSockets: number;
  /** The command's work on one context, after it answered and its release was looked up. */
  run(cfg: Configuration, target: FleetTarget, facts: ContextFacts, signal: AbortSignal): Promise<R>;
}

export async function runOnFleet<R>(targets: readonly FleetTarget[], conn: FleetConnection, work: FleetWork<R>, o: FleetRunOptions<{ facts: ContextFacts; value: R }>): Promise<Array<FleetEntry<R>>> {
  const outcomes = await runFleet(
    targets,
    async (t, signal) => {
      const cfg = new Configuration({ ...conn, context: t.context });
      // At the deadline the context's sockets close, so its calls fail at once instead of running on.
      const close = () => void cfg.close();
      signal.addEventListener('abort', close, { once: true });
      try {
        const c = await cfg.apiClient({ maxSockets: work.maxSockets });
        const facts: ContextFacts = { server: c.server, kubernetesVersion: c.kubernetesVersion, release: await lookupRelease(c.api, t, c.server) };
        // Past the deadline already (the lookup failed on the closed pool): the checks do not start.
        if (signal.aborted) throw signal.reason;
        return { facts, value: await work.run(cfg, t, facts, signal) };
      } finally {
        signal.removeEventListener('abort', close);
        await cfg.close();
      }
    },
    o,
  );
  return outcomes.map((x) => (x.ok ? { target: x.target, durationMs: x.durationMs, ok: true, facts: x.value.facts, value: x.value.value } : x));
}
