import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { doctorChecks, FIX_KINDS } from '../../../src/checks/doctor/index.js';
import { preflightChecks } from '../../../src/checks/preflight/index.js';
import { verifyChecks } from '../../../src/checks/verify/index.js';
import type { PreflightContext } from '../../../src/checks/preflight/context.js';
import { docLink, runChecks, withDocLink, type Check } from '../../../src/checks/engine.js';
import { DOCS_BASE } from '../../../src/defaults.js';
import { renderDoctorJson } from '../../../src/output/doctor.js';
import { normalizeResults } from '../../../src/output/preflight.js';
import { renderHuman, renderJson } from '../../../src/output/report.js';
import { makeChalk } from '../../../src/output/style.js';

const docsDir = new URL('../../../docs/', import.meta.url);
const read = (page: string) => readFileSync(new URL(page, docsDir), 'utf8');

/** A link's page (relative to docs/) and fragment, whatever DOCS_BASE points at. */
function split(link: string): { page: string; anchor: string } {
  expect(link.startsWith(`${DOCS_BASE}/`)).toBe(true);
  const [page, anchor] = link.slice(DOCS_BASE.length + 1).split('#') as [string, string];
  return { page, anchor };
}

/** Explicit anchors (`<a id="...">`) of a page, each with the heading on the next line. */
function anchors(md: string): Map<string, string> {
  const out = new Map<string, string>();
  const lines = md.split('\n');
  lines.forEach((l, i) => {
    const m = /^<a id="([^"]+)"><\/a>$/.exec(l.trim());
    if (m) {
      expect(out.has(m[1]!), `anchor ${m[1]} appears twice`).toBe(false);
      out.set(m[1]!, lines[i + 1] ?? '');
    }
  });
  return out;
}

/** GitHub's heading slug (lower case, punctuation dropped, spaces to hyphens). */
const slug = (heading: string) => heading.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-');

const allIds = [...preflightChecks().map((c) => c.id), ...doctorChecks.map((c) => c.id), ...verifyChecks.map((c) => c.id)];

describe('every check has its own docs section', () => {
  it('the real check lists are not empty and their ids are unique', () => {
    expect(preflightChecks().length).toBeGreaterThan(10);
    expect(doctorChecks.length).toBeGreaterThan(10);
    expect(new Set(allIds).size).toBe(allIds.length);
  });

  it.each(allIds)('%s: its link names a page with an anchor equal to the id, before a heading of the id', (id) => {
    const link = docLink(id);
    expect(link, `no docs page for ${id}: add its group to DOC_PAGES`).toBeDefined();
    const { page, anchor } = split(link!);
    expect(anchor).toBe(id);
    const heading = anchors(read(page)).get(id);
    expect(heading, `docs/${page} has no <a id="${id}"></a> section`).toBeDefined();
    expect(heading).toMatch(new RegExp(`^#{3,4} ${id.replace(/\./g, '\\.')}$`));
  });

  it('preflight ids link to preflight.md, doctor ids to doctor.md, verify ids to verify.md', () => {
    for (const c of preflightChecks()) expect(split(docLink(c.id)!).page).toBe('preflight.md');
    for (const c of doctorChecks) expect(split(docLink(c.id)!).page).toBe('doctor.md');
    for (const c of verifyChecks) expect(split(docLink(c.id)!).page).toBe('verify.md');
  });

  it.each(['preflight.md', 'doctor.md', 'verify.md'])('%s: no section for a check that does not exist, and every in-page link resolves', (page) => {
    const md = read(page);
    const explicit = anchors(md);
    // doctor.md also has the --fix section and one anchor per kind of fix.
    const fixAnchors = page === 'doctor.md' ? ['fixes', ...FIX_KINDS.map((k) => `fix.${k}`)] : [];
    for (const id of explicit.keys()) expect([...allIds, ...fixAnchors], `docs/${page} documents ${id}, which no check or fix has`).toContain(id);
    for (const id of fixAnchors) expect(explicit.has(id), `docs/${page} has no <a id="${id}"></a>`).toBe(true);
    const headings = new Set(md.split('\n').filter((l) => /^#{1,6} /.test(l)).map((l) => slug(l.replace(/^#+ /, ''))));
    for (const [, target] of md.matchAll(/\]\(#([^)]+)\)/g)) {
      expect(explicit.has(target!) || headings.has(target!), `docs/${page} links to #${target}, which is not there`).toBe(true);
    }
  });
});

describe('failing results link to their section', () => {
  const ctx = { serverVersion: async () => ({ gitVersion: 'v1.16.3', rttMs: 1, localMid: new Date() }) } as unknown as PreflightContext;

  it('a real check that fails: the printed hint ends with the link, and JSON has it as docs too', async () => {
    const report = await runChecks(preflightChecks(), ctx, {}, { only: ['cluster.version'] });
    const r = report.results[0]!;
    const link = docLink('cluster.version')!;
    expect(r).toMatchObject({ id: 'cluster.version', status: 'failed', docs: link });
    expect(r.hint).toMatch(/^The chart supports Kubernetes >= 1\.18: upgrade the cluster first\. See /);

    const hintLine = renderHuman(report, makeChalk({ noColor: true })).split('\n').find((l) => l.includes('hint:'))!;
    expect(hintLine.endsWith(link)).toBe(true);

    const json = JSON.parse(renderJson(normalizeResults(report), { command: 'preflight', exitCode: 1 })).results[0];
    expect(json.docs).toBe(link);
    expect(json.hint.endsWith(link)).toBe(true);
  });

  const check = (id: string, f: Awaited<ReturnType<Check<null>['run']>>, hint?: string): Check<null> => ({
    id,
    category: 'X',
    description: id,
    severity: 'fatal',
    ...(hint ? { hint } : {}),
    run: async () => f,
  });

  it('finding hints, multi-line hints, no hint, thrown errors and warnings all end with the link; passing results keep their hint empty', async () => {
    const report = await runChecks(
      [
        check('pods.health', { status: 'failed', message: 'crash', hint: 'Raise the memory limit' }, 'unused'),
        check('rbac.install', { status: 'failed', message: 'missing', hint: 'Apply this:\nkind: ClusterRole\nrules: []' }),
        check('cluster.api', { status: 'failed', message: 'down' }),
        { ...check('coexist.dcgm', { status: 'failed', message: 'x' }), severity: 'warning' },
        { ...check('cloud.credentials', { status: 'passed', message: 'x' }), run: async () => { throw Object.assign(new Error('boom'), { hint: 'do this.' }); } },
        check('release.present', { status: 'passed', message: 'ok' }, 'never shown'),
      ],
      null,
    );
    const by = (id: string) => report.results.find((r) => r.id === id)!;
    expect(by('pods.health').hint).toBe(`Raise the memory limit. See ${docLink('pods.health')}`);
    // A YAML hint stays pasteable: the link is a line of its own.
    expect(by('rbac.install').hint).toBe(`Apply this:\nkind: ClusterRole\nrules: []\nSee ${docLink('rbac.install')}`);
    expect(by('cluster.api').hint).toBe(`See ${docLink('cluster.api')}`);
    expect(by('coexist.dcgm').hint).toBe(`See ${docLink('coexist.dcgm')}`);
    expect(by('cloud.credentials').hint).toBe(`do this. See ${docLink('cloud.credentials')}`);
    expect(by('release.present')).toMatchObject({ status: 'passed', docs: docLink('release.present') });
    expect(by('release.present').hint).toBeUndefined();

    const doctor = JSON.parse(renderDoctorJson(report, { context: 'c', server: 's', namespace: 'n', release: 'r', exitCode: 1, durationMs: 0 })).findings;
    for (const f of doctor) expect(f.docs).toBe(docLink(f.id));
    expect(doctor.find((f: { id: string }) => f.id === 'pods.health').hint.endsWith(docLink('pods.health'))).toBe(true);
  });

  it('a check of no documented group gets no link (and its hint is left alone)', async () => {
    const report = await runChecks([check('x', { status: 'failed', message: 'x', hint: 'do this' })], null);
    expect(docLink('x')).toBeUndefined();
    expect(report.results[0]).toMatchObject({ hint: 'do this' });
    expect(report.results[0]!.docs).toBeUndefined();
  });

  it('withDocLink adds a full stop only where the hint has none', () => {
    expect(withDocLink('Fix it.', 'L')).toBe('Fix it. See L');
    expect(withDocLink('Run `x`', 'L')).toBe('Run `x`. See L');
    expect(withDocLink('  ', 'L')).toBe('See L');
  });
});
