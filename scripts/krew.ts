// The krew plugin manifest for the standalone archives: one platform entry per archive, with its
// sha256. Submit dist-package/insight.yaml to a krew index (krew wants the file named <name>.yaml).
import { stringify } from 'yaml';
import type { Platform } from './platforms.js';

export const PLUGIN_NAME = 'insight';

export interface KrewArchive {
  platform: Pick<Platform, 'os' | 'arch' | 'bin'>;
  uri: string;
  sha256: string;
  files: string[];
}

export function krewManifest({ version, homepage, archives }: { version: string; homepage: string; archives: KrewArchive[] }): string {
  const manifest = {
    apiVersion: 'krew.googlecontainertools.github.com/v1alpha2',
    kind: 'Plugin',
    metadata: { name: PLUGIN_NAME },
    spec: {
      version: `v${version}`,
      homepage,
      shortDescription: 'Install and diagnose Alibaba Cloud Monitor 2.0 agents',
      description: [
        'kubectl insight connects a self-managed Kubernetes cluster to Alibaba Cloud Monitor 2.0',
        '(CloudLens for Container) with the loongcollector-cluster-insight Helm chart: a preflight-gated',
        'install and upgrade that never puts the AccessKey secret on a command line, an ordered uninstall',
        'that never leaves a custom resource stuck on its finalizer and never deletes what is not its own,',
        'a preflight, and a doctor that names why metrics are not arriving.',
        '',
      ].join('\n'),
      caveats: ['This plugin needs helm (3.x or 4.x) on PATH; nothing else.', 'Shell completion: kubectl insight completion --help', ''].join('\n'),
      platforms: archives.map((a) => ({
        selector: { matchLabels: { os: a.platform.os, arch: a.platform.arch } },
        uri: a.uri,
        sha256: a.sha256,
        bin: a.platform.bin,
        files: a.files.map((f) => ({ from: f, to: '.' })),
      })),
    },
  };
  return `# Rendered by npm run package (scripts/krew.ts); the sha256 values are those of dist-package's archives.\n${stringify(manifest, { lineWidth: 0 })}`;
}
