/**
 * The SPL subset of CMS 2.0 GetEntityStoreData the stand-in evaluates:
 *
 *   .entity with(domain='k8s', type='k8s.cluster', query='cluster_id="c123" and name="prod"')
 *
 * Arguments in single or double quotes (backslash escapes), in any order; `domain` and `type` are
 * required, `query` is optional: `field="value"` terms (either quote) joined by `and`. A field is
 * looked up in the entity's `fields`, except `name`, and `entity_id` / `__entity_id__`.
 * Anything else is refused (the caller answers 400 InvalidParameter).
 */

export interface StandinEntity {
  domain: string;
  type: string;
  entityId: string;
  name: string;
  /** Further columns, e.g. cluster_id. */
  fields?: Record<string, string>;
  lastObservedMs: number;
  /** Default: lastObservedMs. */
  firstObservedMs?: number;
  /** Default: 60. */
  keepAliveSeconds?: number;
}

export interface EntityQuery {
  domain: string;
  type: string;
  terms: [string, string][];
}

export class SplError extends Error {}

/** The fixed leading columns of the answer; each entity field key follows, sorted. */
export const ENTITY_COLUMNS = ['__entity_id__', '__domain__', '__entity_type__', 'name', '__first_observed_time__', '__last_observed_time__', '__keep_alive_seconds__'] as const;

type Tok = { kind: 'word' | 'string' | 'punct'; text: string; pos: number };

function lex(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (/[A-Za-z_.]/.test(c)) {
      const s = i;
      while (i < src.length && /[A-Za-z0-9_.]/.test(src[i]!)) i++;
      out.push({ kind: 'word', text: src.slice(s, i), pos: s });
    } else if (c === '"' || c === "'") {
      const s = i++;
      let v = '';
      while (i < src.length && src[i] !== c) {
        if (src[i] === '\\' && i + 1 < src.length) i++;
        v += src[i++];
      }
      if (i >= src.length) throw new SplError(`unterminated string at position ${s}`);
      i++;
      out.push({ kind: 'string', text: v, pos: s });
    } else if ('(),='.includes(c)) {
      out.push({ kind: 'punct', text: c, pos: i++ });
    } else {
      throw new SplError(`unexpected character '${c}' at position ${i}`);
    }
  }
  return out;
}

function expectTok(toks: Tok[], i: number, kind: Tok['kind'], text?: string): Tok {
  const t = toks[i];
  if (!t || t.kind !== kind || (text !== undefined && t.text !== text)) {
    throw new SplError(`expected ${text ? `'${text}'` : kind} at ${t ? `position ${t.pos} (got '${t.text}')` : 'end of query'}`);
  }
  return t;
}

function parseTerms(q: string): [string, string][] {
  const toks = lex(q);
  const terms: [string, string][] = [];
  let i = 0;
  while (i < toks.length) {
    if (terms.length) {
      const and = expectTok(toks, i++, 'word');
      if (and.text.toLowerCase() !== 'and') throw new SplError(`only 'and' may join query terms, got '${and.text}'`);
    }
    const field = expectTok(toks, i++, 'word').text;
    expectTok(toks, i++, 'punct', '=');
    terms.push([field, expectTok(toks, i++, 'string').text]);
  }
  return terms;
}

export function parseEntityQuery(spl: string): EntityQuery {
  const toks = lex(spl);
  expectTok(toks, 0, 'word', '.entity');
  expectTok(toks, 1, 'word', 'with');
  expectTok(toks, 2, 'punct', '(');
  const args = new Map<string, string>();
  let i = 3;
  while (toks[i]?.text !== ')') {
    if (args.size) expectTok(toks, i++, 'punct', ',');
    const key = expectTok(toks, i++, 'word').text;
    if (!['domain', 'type', 'query'].includes(key)) throw new SplError(`unknown argument '${key}' to .entity with()`);
    if (args.has(key)) throw new SplError(`argument '${key}' given twice`);
    expectTok(toks, i++, 'punct', '=');
    args.set(key, expectTok(toks, i++, 'string').text);
  }
  expectTok(toks, i++, 'punct', ')');
  if (i < toks.length) throw new SplError(`unsupported SPL after .entity with(...) at position ${toks[i]!.pos}`);
  const domain = args.get('domain');
  const type = args.get('type');
  if (!domain || !type) throw new SplError(".entity with() needs domain='...' and type='...'");
  return { domain, type, terms: parseTerms(args.get('query') ?? '') };
}

function fieldOf(e: StandinEntity, k: string): string | undefined {
  if (k === 'name') return e.name;
  if (k === 'entity_id' || k === '__entity_id__') return e.entityId;
  return e.fields?.[k];
}

/** The answer table for entities matching `q` whose last observation falls in [fromS, toS] (unix seconds). */
export function entityTable(entities: readonly StandinEntity[], q: EntityQuery, fromS: number, toS: number): { header: string[]; data: string[][] } {
  const hits = entities.filter(
    (e) => e.domain === q.domain && e.type === q.type && q.terms.every(([k, v]) => fieldOf(e, k) === v) && e.lastObservedMs >= fromS * 1000 && e.lastObservedMs <= toS * 1000,
  );
  const fixed: readonly string[] = ENTITY_COLUMNS;
  const extra = [...new Set(hits.flatMap((e) => Object.keys(e.fields ?? {})))].filter((k) => !fixed.includes(k)).sort();
  const secs = (ms: number) => String(Math.floor(ms / 1000));
  return {
    header: [...ENTITY_COLUMNS, ...extra],
    data: hits.map((e) => [
      e.entityId,
      e.domain,
      e.type,
      e.name,
      secs(e.firstObservedMs ?? e.lastObservedMs),
      secs(e.lastObservedMs),
      String(e.keepAliveSeconds ?? 60),
      ...extra.map((k) => e.fields?.[k] ?? ''),
    ]),
  };
}
