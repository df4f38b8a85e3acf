/**
 * CMS 2.0 GetEntityStoreData (2024-03-30, ROA `POST /workspace/{workspace}/entitiesAndRelations` on
 * cms.<region>.aliyuncs.com, ACS3-signed, action cms:GetEntityStoreData): an SPL query over the
 * workspace's entity store, body `{query, from, to}` (unix seconds). The answer is a table: `header`
 * (column names) and `data` (rows of strings); columns are read by name, never by position.
 */
import { cmsHost } from './endpoints.js';
import { callAcs3, CMS_VERSION, type CloudCallOptions, type CloudCredentials } from './credentials.js';
import { fail, ok, type CloudResult } from './errors.js';

export interface EntityTable {
  header: string[];
  rows: Record<string, string>[];
}

/** What a workspace name may not contain, as it goes into the URL path: separators, escapes, spaces. */
export const WORKSPACE_PATTERN = /^[^/?#%\\\s]{1,128}$/;

/** An SPL string literal in single quotes (the form the entity examples use). */
export function splString(v: string): string {
  return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** `.entity with(domain='k8s', type='<type>', query='cluster_id="<id>"')`: one cluster's entities of a type. */
export function entityQuery(type: string, clusterId: string): string {
  return `.entity with(domain='k8s', type=${splString(type)}, query=${splString(`cluster_id=${JSON.stringify(clusterId)}`)})`;
}

export async function getEntityStoreData(
  creds: CloudCredentials,
  region: string,
  workspace: string,
  q: { query: string; from: Date; to: Date },
  opts: CloudCallOptions = {},
): Promise<CloudResult<EntityTable>> {
  const host = cmsHost(region, opts.net ?? 'Internet');
  if (!WORKSPACE_PATTERN.test(workspace)) {
    return fail({ code: 'InvalidInput', service: 'cms', host, message: `"${workspace}" is not a valid workspace name.`, hint: 'Copy the workspace name from the Cloud Monitor 2.0 console (the chart value `workspace`).' });
  }
  const r = await callAcs3(
    creds,
    {
      service: 'cms',
      host,
      method: 'POST',
      path: `/workspace/${workspace}/entitiesAndRelations`,
      action: 'GetEntityStoreData',
      version: CMS_VERSION,
      json: { query: q.query, from: Math.floor(q.from.getTime() / 1000), to: Math.ceil(q.to.getTime() / 1000) },
    },
    opts,
    {
      action: 'cms:GetEntityStoreData',
      notFoundMessage: `Workspace "${workspace}" does not exist in ${region}.`,
      notFoundHint: `Check the chart values workspace and region: the workspace must exist in ${region}.`,
    },
  );
  if (!r.ok) return r;
  const header = Array.isArray(r.value.header) ? (r.value.header as unknown[]).map(String) : [];
  const data = Array.isArray(r.value.data) ? (r.value.data as unknown[][]) : [];
  const rows = data.filter(Array.isArray).map((row) => Object.fromEntries(header.map((h, i) => [h, row[i] === undefined || row[i] === null ? '' : String(row[i])])));
  return ok({ header, rows }, r.requestId);
}
