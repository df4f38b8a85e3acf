/**
 * Splits a Kubernetes list answer into its items while the bytes arrive: each item of the top-level
 * `items` array is parsed on its own (and may be trimmed by the caller) as soon as its closing brace
 * is read, so a 50 MB page is never held as one string beside its whole parsed tree. Everything
 * outside `items` (kind, apiVersion, metadata.continue) is kept and parsed at the end, with `items`
 * left empty.
 *
 * The scan works on bytes: every JSON structural character is ASCII, and no byte of a multi-byte
 * UTF-8 sequence is below 0x80, so a sequence split across chunks cannot be mistaken for one.
 */
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJ = 0x7b;
const CLOSE_OBJ = 0x7d;
const OPEN_ARR = 0x5b;
const CLOSE_ARR = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

export class ListSplitter {
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** Inside the top-level `items` array. */
  private inItems = false;
  /** The top-level key being read, and the one whose value comes next. */
  private key = '';
  private readingKey = false;
  private valueOf: string | undefined;
  private expectKey = false;
  private readonly rest: Buffer[] = [];
  private item: Buffer[] = [];
  private count = 0;

  constructor(private readonly onItem: (raw: unknown) => void) {}

  /** Items emitted so far. */
  get items(): number {
    return this.count;
  }

  push(chunk: Buffer): void {
    // Where the current run of kept bytes (outside items, or inside one item) began in this chunk.
    let keepFrom = this.inItems && this.depth === 2 ? -1 : 0;
    const n = chunk.length;
    for (let i = 0; i < n; i++) {
      const b = chunk[i]!;
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (b === BACKSLASH) this.escaped = true;
        else if (b === QUOTE) {
          this.inString = false;
          this.readingKey = false;
        } else if (this.readingKey) this.key += String.fromCharCode(b);
        else {
          // Skip to the next quote or backslash: most of a list's bytes are string contents.
          const q = chunk.indexOf(QUOTE, i);
          const s = chunk.indexOf(BACKSLASH, i);
          const next = q < 0 ? s : s < 0 ? q : Math.min(q, s);
          if (next < 0) break;
          i = next - 1;
        }
        continue;
      }
      switch (b) {
        case QUOTE:
          this.inString = true;
          if (this.depth === 1 && this.expectKey) {
            this.key = '';
            this.readingKey = true;
          }
          break;
        case COLON:
          if (this.depth === 1) {
            this.valueOf = this.key;
            this.expectKey = false;
          }
          break;
        case COMMA:
          if (this.depth === 1) this.expectKey = true;
          break;
        case OPEN_OBJ:
        case OPEN_ARR:
          this.depth++;
          if (this.depth === 1) this.expectKey = b === OPEN_OBJ;
          else if (this.depth === 2 && b === OPEN_ARR && this.valueOf === 'items' && !this.inItems) {
            this.inItems = true;
            this.rest.push(chunk.subarray(keepFrom, i + 1));
            keepFrom = -1;
          } else if (this.inItems && this.depth === 3) {
            keepFrom = i;
          }
          break;
        case CLOSE_OBJ:
        case CLOSE_ARR:
          this.depth--;
          if (this.inItems && this.depth === 2) {
            this.item.push(chunk.subarray(keepFrom, i + 1));
            this.emit();
            keepFrom = -1;
          } else if (this.inItems && this.depth === 1) {
            this.inItems = false;
            keepFrom = i;
          }
          break;
        default:
          break;
      }
    }
    if (keepFrom >= 0) (this.inItems ? this.item : this.rest).push(chunk.subarray(keepFrom));
  }

  private emit(): void {
    const raw = Buffer.concat(this.item).toString('utf8');
    this.item = [];
    this.count++;
    this.onItem(JSON.parse(raw));
  }

  /** The list without its items; throws when the answer was cut short or is not a JSON object. */
  end(): Record<string, unknown> {
    if (this.depth !== 0 || this.inString) throw new SyntaxError('the list answer ended before its last byte');
    const doc = JSON.parse(Buffer.concat(this.rest).toString('utf8')) as unknown;
    if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new SyntaxError('the list answer is not a JSON object');
    return doc as Record<string, unknown>;
  }
}
