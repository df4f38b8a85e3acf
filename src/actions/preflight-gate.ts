/** The preflight gate of install: src/checks/preflight run with install's validated values. */
import { runPreflight } from '../checks/preflight/index.js';
import type { PreflightHelm, PreflightKube } from '../checks/preflight/context.js';
import { preflightInputFromValues } from '../values/preflight.js';
import type { PreflightGate } from './gate.js';

/** Where and how the gate's checks run: the command's connection and preflight flags. */
export interface GateOptions {
  kubeconfig?: string | undefined;
  context?: string | undefined;
  helmBinary?: string | undefined;
  probeImage?: string | undefined;
  fromLocal?: boolean | undefined;
  /** The run's own clients (made on first use), so the gate opens no second connection. */
  kube?: () => PreflightKube;
  helm?: PreflightHelm;
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
        deps: { ...(o.kube ? { kube: o.kube() } : {}), ...(o.helm ? { helm: o.helm } : {}) },
      },
      { onResult: (r) => req.onProgress?.(`${r.id}: ${r.status}`) },
    );
  };
}
