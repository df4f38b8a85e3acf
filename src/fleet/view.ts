/** A fleet run's entries as the command's result: the rows, each context's own report, the exit code. */
import type { ChalkInstance } from 'chalk';
import type { CommandResult } from '../base-command.js';
import { topFailure, type Report } from '../checks/engine.js';
import { fleetJson, renderFleetHuman, type FleetRow, type FleetView } from '../output/fleet.js';
import type { FleetEntry } from './fleet.js';
import { fleetExitCode } from './run.js';

/** How one command's per-context value reads (doctor's outcome, preflight's report). */
export interface FleetSpec<R> {
  command: string;
  report(v: R): Report;
  /** Passed at --fail-on. */
  passed(v: R): boolean;
  verdict(v: R): string;
  text(v: R, c: ChalkInstance): string;
  json(v: R): unknown;
}

export function fleetRows<R>(entries: ReadonlyArray<FleetEntry<R>>, spec: Pick<FleetSpec<R>, 'report' | 'passed' | 'verdict'>): FleetRow[] {
  return entries.map((e): FleetRow => {
    if (!e.ok) return { target: e.target, server: e.target.server, verdict: e.failure.verdict, passed: false, durationMs: e.durationMs, failure: e.failure };
    const top = topFailure(spec.report(e.value));
    return {
      target: e.target,
      server: e.facts.server,
      kubernetesVersion: e.facts.kubernetesVersion,
      release: e.facts.release,
      verdict: spec.verdict(e.value),
      passed: spec.passed(e.value),
      ...(top ? { topCause: top } : {}),
      durationMs: e.durationMs,
    };
  });
}

export function fleetResult<R>(entries: ReadonlyArray<FleetEntry<R>>, spec: FleetSpec<R>, o: { failOn?: string; summaryOnly: boolean; durationMs: number }): CommandResult {
  const rows = fleetRows(entries, spec);
  const exitCode = fleetExitCode(rows);
  const view = (c?: ChalkInstance): FleetView => ({
    command: spec.command,
    rows,
    text: c && !o.summaryOnly ? entries.map((e) => (e.ok ? spec.text(e.value, c) : undefined)) : [],
    json: o.summaryOnly ? [] : entries.map((e) => (e.ok ? spec.json(e.value) : undefined)),
    exitCode,
    durationMs: o.durationMs,
    ...(o.failOn ? { failOn: o.failOn } : {}),
    summaryOnly: o.summaryOnly,
  });
  return { json: () => fleetJson(view()), text: (c) => renderFleetHuman(view(c), c), exitCode };
}
