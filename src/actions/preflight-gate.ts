/** The preflight gate of install: src/checks/preflight run with install's validated values. */
import { runPreflight } from '../checks/preflight/index.js';
import { preflightInputFromValues } from '../values/preflight.js';
import type { PreflightGate } from './gate.js';

/** Where and how the gate's checks run: the command's connection and preflight flags. */
export interface GateOptions {
  kubeconfig?: string | undefined;
  context?: string | undefined;
  helmBinary?: string | undefined;
  probeImage?: string | undefined;
  fromLocal?: boolean | undefined;
}

export function loadPreflightGate(o: GateOptions): PreflightGate {
  return (req) => {
    const { net, ...fromValues } = preflightInputFromValues(req.values);
    return runPreflight(
      {
        ...(o.kubeconfig ? { kubeconfig: o.kubeconfig } : {}),
        ...(o.context ? { context: o.context } : {}),
        ...(o.helmBinary ? { helmBinary: o.helmBinary } : {}),
        namespace: req.namespace,
        release: req.release,
        mode: req.mode,
        values: req.values,
        ...fromValues,
        ...(net === 'Intranet' || net === 'Internet' ? { net } : {}),
        ...(o.probeImage ? { probeImage: o.probeImage } : {}),
        ...(o.fromLocal ? { fromLocal: true } : {}),
      },
      { onResult: (r) => req.onProgress?.(`${r.id}: ${r.status}`) },
    );
  };
}
