/** The preflight gate of install: src/checks/preflight run with install's validated values. */
import type { SharedFlags } from '../base-command.js';
import { runPreflight } from '../checks/preflight/index.js';
import { preflightInputFromValues } from '../values/preflight.js';
import type { PreflightGate } from './install.js';

export function loadPreflightGate(flags: SharedFlags & { 'probe-image'?: string; 'preflight-from-local'?: boolean }): PreflightGate {
  return (req) => {
    const { net, ...fromValues } = preflightInputFromValues(req.values);
    return runPreflight(
      {
        ...(flags.kubeconfig ? { kubeconfig: flags.kubeconfig } : {}),
        ...(flags.context ? { context: flags.context } : {}),
        ...(flags['helm-binary'] ? { helmBinary: flags['helm-binary'] } : {}),
        namespace: req.namespace,
        release: req.release,
        mode: req.mode,
        values: req.values,
        ...fromValues,
        ...(net === 'Intranet' || net === 'Internet' ? { net } : {}),
        ...(flags['probe-image'] ? { probeImage: flags['probe-image'] } : {}),
        ...(flags['preflight-from-local'] ? { fromLocal: true } : {}),
      },
      { onResult: (r) => req.onProgress?.(`${r.id}: ${r.status}`) },
    );
  };
}
