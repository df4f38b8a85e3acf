// helm's release storage decoded into the one release model (what doctor reads without helm).
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { judgeRelease } from '../../../src/helm/release-state.js';
import { newestStoredRelease, storageSelector, type StorageRecord } from '../../../src/helm/storage.js';

const where = { name: 'r', namespace: 'cms' };
const MANIFEST = '---\n# Source: c/templates/ds.yaml\napiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: ne}\n---\napiVersion: v1\nkind: List\n---\n# only a comment\n';

function record(revision: number, o: { status?: string; chart?: object | null; secret?: boolean } = {}): StorageRecord {
  const rel = { version: revision, info: { status: o.status ?? 'deployed' }, ...(o.chart === null ? {} : { chart: { metadata: o.chart ?? { name: 'c', version: `1.${revision}.0`, appVersion: '9.9' } } }), manifest: MANIFEST };
  const helmEncoded = gzipSync(Buffer.from(JSON.stringify(rel))).toString('base64');
  return { metadata: { labels: { owner: 'helm', name: 'r', version: String(revision), status: o.status ?? 'deployed' } }, data: { release: o.secret === false ? helmEncoded : Buffer.from(helmEncoded).toString('base64') } };
}

describe('helm release storage', () => {
  it('selects the records of one release', () => {
    expect(storageSelector('r')).toBe('owner=helm,name=r');
  });

  it('decodes the newest revision of Secrets into the release model, with its named objects', () => {
    const rel = newestStoredRelease([record(2, { status: 'superseded' }), record(10, { status: 'failed' }), record(9)], 'secret', where)!;
    expect(rel).toMatchObject({ name: 'r', namespace: 'cms', revision: 10, status: 'failed', chart: 'c-1.10.0', chartName: 'c', chartVersion: '1.10.0', app_version: '9.9', storage: 'secret' });
    // The List has no name and the comment is no object: only named objects count.
    expect(rel.objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(['DaemonSet/ne']);
    // The verdict reads the stored record as it reads a helm list row.
    expect(judgeRelease(rel, 'c')).toMatchObject({ state: 'failed', ourChart: true });
  });

  it('reads ConfigMaps (one base64 layer less) and says where the release is stored', () => {
    expect(newestStoredRelease([record(1, { secret: false })], 'configmap', where)).toMatchObject({ revision: 1, chart: 'c-1.1.0', storage: 'configmap' });
  });

  it('a record without chart metadata still decodes; no records is no release', () => {
    expect(newestStoredRelease([record(1, { chart: null })], 'secret', where)).toMatchObject({ chart: '?-?', chartName: '?', chartVersion: '?', app_version: '' });
    expect(newestStoredRelease([], 'secret', where)).toBeUndefined();
  });
});
