/**
 * Names and references given as flags, checked when the flag is parsed (before anything is contacted),
 * by the same rules for every command: a namespace is a DNS label, a release a helm release name, an
 * image a reference a kubelet can pull, a registry a host[:port]. One error line and a hint, exit 2.
 */
import { InsightError } from './errors.js';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const RELEASE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const HOST = /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*(:\d{1,5})?$/;
// registry/path[:tag][@sha256:...], as docker's reference grammar allows (simplified, case of paths lowercase).
// The first part is a registry only when it has a dot or a port, or is localhost (as docker reads it).
const IMAGE = /^(?:(?:localhost|[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+|[A-Za-z0-9-]+(?=:\d))(?::\d{1,5})?\/)?[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;

const bad = (flag: string, v: string, what: string, hint: string) => new InsightError('usage', `${flag} ${shownValue(v)} is not ${what}`, { hint });

/**
 * A typed value, for an error message: only when it is short. A long one may be a secret pasted into
 * the wrong flag (an AccessKey secret is 30 characters), and the message must not print it back.
 */
export function shownValue(v: string): string {
  return v.length <= 16 ? JSON.stringify(v) : '(value not shown)';
}

export function checkNamespace(v: string, flag = '--namespace'): string {
  if (!DNS_LABEL.test(v) || v.length > 63) throw bad(flag, v, 'a namespace name', 'Namespaces are DNS labels: at most 63 lowercase letters, digits and "-", starting and ending with a letter or digit.');
  return v;
}

export function checkRelease(v: string, flag = '--release'): string {
  if (!RELEASE.test(v) || v.length > 53) throw bad(flag, v, 'a helm release name', 'helm release names are at most 53 lowercase letters, digits, "-" and ".", starting and ending with a letter or digit.');
  return v;
}

export function checkClusterId(v: string, flag = '--cluster-id'): string {
  if (!DNS_LABEL.test(v) || v.length > 93) throw bad(flag, v, 'a cluster ID', 'It names custom-kubernetes-<clusterID>-entity-collector: lowercase letters, digits and "-", at most 93.');
  return v;
}

export function checkImage(v: string, flag = '--probe-image'): string {
  if (v.length > 255 || !IMAGE.test(v)) throw bad(flag, v, 'an image reference', 'Give registry/repository[:tag], e.g. registry.example.com/tools/curl:8.11.1.');
  return v;
}

export function checkRegistry(v: string, flag = '--image-registry'): string {
  const host = v.replace(/\/+$/, '');
  if (!HOST.test(host.split('/')[0]!) || /\s|:\/\//.test(v)) throw bad(flag, v, 'a registry host', 'Give host[:port] (optionally with a path prefix), without a scheme: e.g. registry.example.com:5000.');
  return host;
}

/** --region (preflight): a usage error naming the closest known region; the region table loads only here. */
export async function checkRegionFlag(raw: string, allowUnknown: boolean): Promise<string> {
  const { judgeRegion } = await import('./cloud/regions.js');
  const r = judgeRegion(raw, allowUnknown);
  if (r.ok) return r.id;
  const s = r.reason === 'unknown' ? r.suggestion : undefined;
  throw new InsightError('usage', `unknown region "${raw}"${s ? `: did you mean ${s}?` : ''}`, {
    hint: s ? `Use --region ${s}, or --allow-unknown-region for a region newer than this tool.` : 'Use a region id such as cn-hangzhou, or --allow-unknown-region for a region newer than this tool.',
  });
}
