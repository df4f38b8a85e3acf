/** What preflight takes from the chart values: the same keys for the install gate and the preflight command. No I/O. */
import { Secret } from '../secret.js';
import { getPath, SECRET_PATH, type Values } from './tree.js';

/** Preflight's cloud and network settings found in a values tree; a key that is absent or empty is left out. */
export interface PreflightValues {
  region?: string;
  /** As written: install's values are validated (Internet or Intranet); the preflight command refuses anything else. */
  net?: string;
  accessKeyId?: string;
  accessKeySecret?: Secret;
  projectName?: string;
  prometheusInstanceId?: string;
}

const TEXT_KEYS = [
  ['region', 'region'],
  ['net', 'net'],
  ['accessKeyId', 'accessKeyID'],
  ['projectName', 'entityCollector.projectName'],
  ['prometheusInstanceId', 'operator.prometheus.prometheusInstanceID'],
] as const;

/** The keys' non-empty text values, by their short names. */
function textValues<K extends string>(values: Values, keys: readonly (readonly [K, string])[]): Partial<Record<K, string>> {
  const out: Partial<Record<K, string>> = {};
  for (const [key, path] of keys) {
    const x = getPath(values, path);
    if (typeof x === 'string' && x) out[key] = x;
  }
  return out;
}

export function preflightInputFromValues(values: Values): PreflightValues {
  const out: PreflightValues = textValues(values, TEXT_KEYS);
  // Only a wrapped secret: plain text here would mean a tree that skipped wrapSecret.
  const secret = getPath(values, SECRET_PATH);
  if (secret instanceof Secret) out.accessKeySecret = secret;
  return out;
}

/** Who and where an installation is: what verify needs to find its data. Never the secret. */
export interface InstallationValues extends Omit<PreflightValues, 'accessKeySecret'> {
  clusterId?: string;
  clusterName?: string;
  workspace?: string;
}

const IDENTITY_KEYS = [...TEXT_KEYS, ['clusterId', 'clusterID'], ['clusterName', 'clusterName'], ['workspace', 'workspace']] as const;

export function installationFromValues(values: Values): InstallationValues {
  return textValues(values, IDENTITY_KEYS);
}
