import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { krewManifest, PLUGIN_NAME } from '../../../scripts/krew.js';
import { PLATFORMS } from '../../../scripts/platforms.js';

const archives = PLATFORMS.map((platform, i) => ({ platform, uri: `https://h/${platform.id}.tar.gz`, sha256: String(i).repeat(64), files: [platform.bin, 'LICENSE'] }));
const m = parse(krewManifest({ version: '1.2.3', homepage: 'https://h', archives }));

describe('krew manifest', () => {
  it("follows krew's manifest rules", () => {
    expect(m).toMatchObject({ apiVersion: 'krew.googlecontainertools.github.com/v1alpha2', kind: 'Plugin', metadata: { name: PLUGIN_NAME } });
    expect(PLUGIN_NAME).toMatch(/^[a-z0-9][a-z0-9-]*$/);
    expect(m.spec.version).toBe('v1.2.3');
    expect(m.spec.shortDescription.length).toBeLessThanOrEqual(60);
    expect(m.spec.description.length).toBeGreaterThan(50);
    expect(m.spec.caveats).toMatch(/helm/);
  });

  it('has one platform per archive, with its checksum, its own selector and a .exe on Windows', () => {
    expect(m.spec.platforms).toHaveLength(PLATFORMS.length);
    const selectors = new Set(m.spec.platforms.map((p: { selector: { matchLabels: object } }) => JSON.stringify(p.selector.matchLabels)));
    expect(selectors.size).toBe(PLATFORMS.length);
    for (const [i, p] of m.spec.platforms.entries()) {
      expect(p.sha256).toBe(archives[i]!.sha256);
      expect(p.uri).toBe(archives[i]!.uri);
      expect(p.files.map((f: { from: string }) => f.from)).toContain(p.bin);
      expect(p.bin.endsWith('.exe')).toBe(p.selector.matchLabels.os === 'windows');
    }
  });
});
