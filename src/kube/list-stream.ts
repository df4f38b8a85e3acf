/**
 * Splits a Kubernetes list answer into its items while the bytes arrive: each item of the top-level
 * `items` array is parsed on its own (and may be trimmed by the caller) as soon as its closing brace
 * is read, so a 50 MB page is never held as one string beside its whole parsed tree. Everything
 * outside `items` (kind, apiVersion, metadata.continue) is kept and parsed at the end, with `items`
 * left empty.
 *
 * The scan works on bytes: every JSON structural character is ASCII, and no byte of a multi-byte
 * UTF-8 sequence is below 0x80, so a sequence split across chunks cannot be mistaken for one.
 * Between items only whitespace and single commas are accepted, and every item must be an object:
 * a garbled answer is an error, never a shorter list.
 */
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJ = 0x7b;
const CLOSE_OBJ = 0x7d;
const OPEN_ARR = 0x5b;
const CLOSE_ARR = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;
const isSpace = (b: number) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;

/** The answer is not a well-formed list; says where, never what the bytes were (they may be a Secret's). */
export class ListSyntaxError extends SyntaxError {}

export class ListSplitter {
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** Inside the top-level `items` array. */
  private inItems = false;
  /** Between items: the last thing read was an item (so a comma or `]` comes next), or a comma / `[`. */
  private afterItem = false;
  private sawComma = false;
  /** The top-level key being read, and the one whose value comes next. */
  private key = '';
  private readingKey = false;
  private valueOf: string | undefined;
  private expectKey = false;
  /** The top-level `items` key was read (its array split, or a null). */
  private sawItems = false;
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
    // The next quote and backslash at or after the scan position, found once per chunk position so a
    // chunk is searched linearly however many strings it holds.
    let nextQuote = -2;
    let nextSlash = -2;
    for (let i = 0; i < n; i++) {
      if (this.inString) {
        const b = chunk[i]!;
        if (this.escaped) this.escaped = false;
        else if (b === BACKSLASH) {
          this.escaped = true;
          // A key spelled with an escape is never read as `items` (end() then refuses the answer).
          if (this.readingKey) this.key = '\u0000';
        }
        else if (b === QUOTE) {
          this.inString = false;
          this.readingKey = false;
        } else if (this.readingKey) this.key += String.fromCharCode(b);
        else {
          // Skip to the next quote or backslash: most of a list's bytes are string contents.
          if (nextQuote !== -1 && nextQuote < i) nextQuote = chunk.indexOf(QUOTE, i);
          if (nextSlash !== -1 && nextSlash < i) nextSlash = chunk.indexOf(BACKSLASH, i);
          const next = nextQuote < 0 ? nextSlash : nextSlash < 0 ? nextQuote : Math.min(nextQuote, nextSlash);
          if (next < 0) break;
          i = next - 1;
        }
        continue;
      }
      const b = chunk[i]!;
      if (this.inItems && this.depth === 2) {
        // Between items: whitespace, one comma after each item, an object, or the closing bracket.
        if (isSpace(b)) continue;
        if (b === COMMA && this.afterItem) {
          this.afterItem = false;
          this.sawComma = true;
          continue;
        }
        if (b === OPEN_OBJ && !this.afterItem) {
          this.depth = 3;
          keepFrom = i;
          continue;
        }
        if (b === CLOSE_ARR && (this.afterItem || !this.sawComma)) {
          this.depth = 1;
          this.inItems = false;
          keepFrom = i;
          continue;
        }
        throw new ListSyntaxError(`unexpected byte between items ${this.count} and ${this.count + 1} of the list answer`);
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
            if (this.key === 'items') {
              // JSON.parse would keep the last of two; a list has one.
              if (this.sawItems) throw new ListSyntaxError('the list answer has two items fields');
              this.sawItems = true;
            }
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
            this.afterItem = false;
            this.sawComma = false;
            this.rest.push(chunk.subarray(keepFrom, i + 1));
            keepFrom = -1;
          }
          break;
        case CLOSE_OBJ:
        case CLOSE_ARR:
          this.depth--;
          if (this.depth < 0) throw new ListSyntaxError('the list answer closes more than it opened');
          if (this.inItems && this.depth === 2) {
            this.item.push(chunk.subarray(keepFrom, i + 1));
            this.emit();
            this.afterItem = true;
            keepFrom = -1;
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
    let item: unknown;
    try {
      item = JSON.parse(raw);
    } catch {
      throw new ListSyntaxError(`item ${this.count + 1} of the list answer is not JSON`);
    }
    this.count++;
    this.onItem(item);
  }

  /** The list without its items; throws when the answer was cut short or is not a JSON list object. */
  end(): Record<string, unknown> {
    if (this.depth !== 0 || this.inString) throw new ListSyntaxError('the list answer ended before its last byte');
    let doc: unknown;
    try {
      doc = JSON.parse(Buffer.concat(this.rest).toString('utf8'));
    } catch {
      throw new ListSyntaxError('the list answer is not JSON');
    }
    if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new ListSyntaxError('the list answer is not a JSON object');
    // An `items` the scan did not take apart (a key spelled with escapes, a non-array): refuse it
    // rather than return a list that silently lacks them.
    const left = (doc as { items?: unknown }).items;
    if (left !== undefined && left !== null && !(Array.isArray(left) && left.length === 0)) throw new ListSyntaxError('the list answer has an items field that is not a plain array');
    // A 2xx answer without items (a Status, an empty object) is not an empty list.
    if (!this.sawItems) throw new ListSyntaxError('the answer has no items field: it is not a list');
    return doc as Record<string, unknown>;
  }
}
