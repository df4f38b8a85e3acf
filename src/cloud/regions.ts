/**
 * Alibaba Cloud regions where Simple Log Service (and so Cloud Monitor 2.0, which stores its data in
 * SLS projects) can be used. Source: SLS "Supported regions" and "Endpoints" pages
 * (alibabacloud.com/help/en/sls/sls-supported-regions1, /help/en/sls/endpoints, read 2026).
 * Regions marked closed there (ap-southeast-2 Sydney, ap-south-1 Mumbai) are left out on purpose:
 * a new install cannot use them. New regions appear often: callers offer `--allow-unknown-region`.
 */
export interface Region {
  id: string;
  /** English name as the console shows it. */
  name: string;
  /** Words a user may type instead of the id ("hangzhou", "singapore"), lower case. */
  aliases: readonly string[];
}

export const REGIONS: readonly Region[] = [
  { id: 'cn-qingdao', name: 'China (Qingdao)', aliases: ['qingdao'] },
  { id: 'cn-beijing', name: 'China (Beijing)', aliases: ['beijing'] },
  { id: 'cn-zhangjiakou', name: 'China (Zhangjiakou)', aliases: ['zhangjiakou'] },
  { id: 'cn-huhehaote', name: 'China (Hohhot)', aliases: ['hohhot', 'huhehaote'] },
  { id: 'cn-wulanchabu', name: 'China (Ulanqab)', aliases: ['ulanqab', 'wulanchabu'] },
  { id: 'cn-hangzhou', name: 'China (Hangzhou)', aliases: ['hangzhou'] },
  { id: 'cn-shanghai', name: 'China (Shanghai)', aliases: ['shanghai'] },
  { id: 'cn-nanjing', name: 'China (Nanjing - Local Region)', aliases: ['nanjing'] },
  { id: 'cn-fuzhou', name: 'China (Fuzhou - Local Region)', aliases: ['fuzhou'] },
  { id: 'cn-shenzhen', name: 'China (Shenzhen)', aliases: ['shenzhen'] },
  { id: 'cn-heyuan', name: 'China (Heyuan)', aliases: ['heyuan'] },
  { id: 'cn-guangzhou', name: 'China (Guangzhou)', aliases: ['guangzhou'] },
  { id: 'cn-chengdu', name: 'China (Chengdu)', aliases: ['chengdu'] },
  { id: 'cn-hongkong', name: 'China (Hong Kong)', aliases: ['hongkong', 'hong kong', 'hk'] },
  { id: 'ap-southeast-1', name: 'Singapore', aliases: ['singapore'] },
  { id: 'ap-southeast-3', name: 'Malaysia (Kuala Lumpur)', aliases: ['kuala lumpur', 'kualalumpur'] },
  { id: 'ap-southeast-5', name: 'Indonesia (Jakarta)', aliases: ['jakarta'] },
  { id: 'ap-southeast-6', name: 'Philippines (Manila)', aliases: ['manila'] },
  { id: 'ap-southeast-7', name: 'Thailand (Bangkok)', aliases: ['bangkok'] },
  { id: 'ap-southeast-8', name: 'Malaysia (Johor)', aliases: ['johor'] },
  { id: 'ap-northeast-1', name: 'Japan (Tokyo)', aliases: ['tokyo'] },
  { id: 'ap-northeast-2', name: 'South Korea (Seoul)', aliases: ['seoul'] },
  { id: 'us-west-1', name: 'US (Silicon Valley)', aliases: ['silicon valley'] },
  { id: 'us-east-1', name: 'US (Virginia)', aliases: ['virginia'] },
  { id: 'eu-central-1', name: 'Germany (Frankfurt)', aliases: ['frankfurt'] },
  { id: 'eu-west-1', name: 'UK (London)', aliases: ['london'] },
  { id: 'me-east-1', name: 'UAE (Dubai)', aliases: ['dubai'] },
  { id: 'me-central-1', name: 'Saudi Arabia (Riyadh)', aliases: ['riyadh'] },
  { id: 'na-south-1', name: 'Mexico', aliases: ['mexico'] },
  { id: 'sa-east-1', name: 'Brazil (Sao Paulo)', aliases: ['sao paulo', 'saopaulo'] },
];

export const REGION_IDS: readonly string[] = REGIONS.map((r) => r.id);

const byId = new Map(REGIONS.map((r) => [r.id, r]));

/** The shape every region id has (`cn-hangzhou`, `ap-southeast-1`); used to accept unknown new ones. */
export const REGION_ID_PATTERN = /^[a-z]{2,}(-[a-z0-9]+)+$/;

export function isKnownRegion(id: string): boolean {
  return byId.has(id);
}

/**
 * Optimal-string-alignment distance: Levenshtein plus adjacent transpositions, so the common typo
 * `cn-hangzohu` is one edit away from `cn-hangzhou`, not two.
 */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 0; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * "Did you mean": the known region the user most likely meant, or undefined when nothing is close.
 * Tries, in order: the id in another case or with `_`/spaces; a city name or alias ("Hangzhou",
 * "singapore", "China (Beijing)"); the id with the closest edit distance, if close enough to be a typo.
 */
export function suggestRegion(input: string): string | undefined {
  const raw = input.trim().toLowerCase();
  if (!raw) return undefined;
  const normalized = raw.replace(/[_\s]+/g, '-');
  if (byId.has(normalized)) return normalized;

  const words = raw.replace(/[()]/g, ' ').replace(/\s+/g, ' ').trim();
  for (const r of REGIONS) {
    if (r.name.toLowerCase() === raw || r.aliases.includes(words) || r.aliases.includes(raw)) return r.id;
  }
  // "china (hangzhou)", "hangzhou region", "cn hangzhou 1"
  for (const r of REGIONS) {
    if (r.aliases.some((a) => a.length >= 4 && words.split(' ').includes(a))) return r.id;
  }

  let best: { id: string; d: number } | undefined;
  for (const id of REGION_IDS) {
    const d = editDistance(normalized, id);
    if (!best || d < best.d) best = { id, d };
  }
  // A third of the length allows `cn-hangzou` and `ap-southeast1` but not a different region family.
  const limit = Math.max(2, Math.floor(normalized.length / 3));
  return best && best.d <= limit ? best.id : undefined;
}

/** Whether a region id may be used: known, or (with --allow-unknown-region) at least shaped like one. */
export type RegionVerdict = { ok: true; id: string } | { ok: false; id: string; reason: 'unknown'; suggestion?: string } | { ok: false; id: string; reason: 'malformed' };

export function judgeRegion(raw: string, allowUnknown: boolean): RegionVerdict {
  const id = raw.trim();
  if (isKnownRegion(id)) return { ok: true, id };
  if (allowUnknown) return REGION_ID_PATTERN.test(id) ? { ok: true, id } : { ok: false, id, reason: 'malformed' };
  const suggestion = suggestRegion(id);
  return { ok: false, id, reason: 'unknown', ...(suggestion ? { suggestion } : {}) };
}
