/** The preflight gate of install: src/checks/preflight run with install's validated values. */
import type { SharedFlags } from '../base-command.js';
import { runPreflight } from '../checks/preflight/index.js';
import { Secret } from '../secret.js';
import { getPath } from '../values/tree.js';
import type { PreflightGate } from './install.js';

export function loadPreflightGate(flags: SharedFlags & { 'probe-image'?: string; 'preflight-from-local'?: boolean }): PreflightGate {
  return (req) => {
    const str = (p: string) => {
      const x = getPath(req.values, p);
      return typeof x === 'string' && x ? x : undefined;
    };
    const secret = getPath(req.values, 'accessKeySecret');
    const net = str('net');
    return runPreflight(
      {
        ...(flags.kubeconfig ? { kubeconfig: flags.kubeconfig } : {}),
        ...(flags.context ? { context: flags.context } : {}),
        ...(flags['helm-binary'] ? { helmBinary: flags['helm-binary'] } : {}),
        namespace: req.namespace,
        release: req.release,
        mode: req.mode,
        values: req.values,
        ...(str('region') ? { region: str('region') } : {}),
        ...(net === 'Intranet' || net === 'Internet' ? { net } : {}),
        ...(str('accessKeyID') ? { accessKeyId: str('accessKeyID') } : {}),
        ...(secret instanceof Secret ? { accessKeySecret: secret } : {}),
        ...(str('entityCollector.projectName') ? { projectName: str('entityCollector.projectName') } : {}),
        ...(str('operator.prometheus.prometheusInstanceID') ? { prometheusInstanceId: str('operator.prometheus.prometheusInstanceID') } : {}),
        ...(flags['probe-image'] ? { probeImage: flags['probe-image'] } : {}),
        ...(flags['preflight-from-local'] ? { fromLocal: true } : {}),
      },
      { onResult: (r) => req.onProgress?.(`${r.id}: ${r.status}`) },
    );
  };
}
