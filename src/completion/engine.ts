/**
 * Shell completion: the words after `kubectl insight` in, candidates and a directive out, in the
 * protocol of Cobra's `__complete` (the one kubectl speaks to plugins, see ./protocol.ts). The engine reads the
 * line the way oclif will parse it (command words first, then flags), and asks its sources only for the
 * one flag value being completed. It never echoes a typed word: every candidate comes from the command
 * tree, the region list, kubeconfig or the cluster.
 */
import type { CompletionCommand, CompletionFlag } from './tree.js';
import { Directive, type Candidate, type Completion } from './protocol.js';

/** The cluster a value lookup is for: --kubeconfig and --context as given earlier on the line. */
export interface LineConnection {
  kubeconfig?: string;
  context?: string;
}

/** Where values come from; each may throw (no kubeconfig, cluster unreachable): completion then offers none. */
export interface CompletionSources {
  regions(): readonly { id: string; name: string }[];
  contexts(c: LineConnection): readonly { name: string; cluster: string; current: boolean }[];
  /** Bounded by its own short deadline (./sources.ts). */
  namespaces(c: LineConnection): Promise<readonly string[]>;
}

/** How a flag's value is completed. */
type ValueKind = 'options' | 'region' | 'context' | 'namespace' | 'file' | 'none';

/**
 * The one place that maps a flag to where its values come from: declared options first (--output,
 * --fail-on, --net, any new one), then the flags kubectl users expect completed by name. A flag that
 * takes a path lets the shell complete files; any other free value gets no candidates and no files.
 */
function valueKind(f: CompletionFlag): ValueKind {
  if (f.type === 'boolean') return 'none';
  if (f.options?.length) return 'options';
  if (f.name === 'region') return 'region';
  if (f.name === 'context') return 'context';
  if (f.name === 'namespace' || f.name.endsWith('-namespace')) return 'namespace';
  if (FILE_FLAGS.has(f.name) || f.name.endsWith('-file')) return 'file';
  return 'none';
}

/** Flags whose value is a path (besides every `--*-file`): kubeconfig, values files, a chart directory or .tgz, an executable. */
const FILE_FLAGS = new Set(['kubeconfig', 'values', 'chart', 'helm-binary']);

/** oclif answers these itself on any command line (`--help` anywhere, `--version` first). */
const HELP: Candidate = { value: '--help', description: 'Show help.' };
const VERSION: Candidate = { value: '--version', description: 'Show the version.' };

/** What the words before the one being completed say. */
interface Line {
  /** The positional words read as command (and topic) names. */
  path: string[];
  command: CompletionCommand | undefined;
  /** Names of the flags given (a --no-x counts as x). */
  given: Set<string>;
  /** The last value given to each option flag. */
  values: Map<string, string>;
  /** The flag whose value is the word being completed. */
  pending: CompletionFlag | undefined;
  /** After `--`: no more flags. */
  endOfFlags: boolean;
}

/** `words`: what follows the program name, the last being the word under the cursor ('' after a space). */
export async function complete(words: readonly string[], tree: readonly CompletionCommand[], sources: CompletionSources): Promise<Completion> {
  const current = words.at(-1) ?? '';
  const line = readLine(words.slice(0, -1), tree);
  if (line.pending) return flagValues(line.pending, current, line, sources);
  if (line.endOfFlags) return none();
  if (current.startsWith('-')) {
    if (!line.command) return matching([HELP, VERSION], current);
    const eq = current.indexOf('=');
    if (current.startsWith('--') && eq > 0) {
      // --flag=value: the values alone, as Cobra returns them; each shell script puts the `--flag=` back.
      const f = flagNamed(line.command, current.slice(2, eq));
      return f ? flagValues(f, current.slice(eq + 1), line, sources) : none();
    }
    return flagNames(line.command, current, line);
  }
  return commandNames(tree, line, current);
}

function readLine(prior: readonly string[], tree: readonly CompletionCommand[]): Line {
  const line: Line = { path: [], command: undefined, given: new Set(), values: new Map(), pending: undefined, endOfFlags: false };
  for (const w of prior) {
    if (line.pending) {
      line.values.set(line.pending.name, w);
      line.pending = undefined;
    } else if (line.endOfFlags) {
      continue;
    } else if (w === '--') {
      line.endOfFlags = true;
    } else if (w.startsWith('--')) {
      readLongFlag(line, w);
    } else if (w.startsWith('-') && w.length > 1) {
      readShortFlags(line, w);
    } else {
      readPositional(line, w, tree);
    }
  }
  return line;
}

function readLongFlag(line: Line, w: string): void {
  if (!line.command) return;
  const eq = w.indexOf('=');
  const name = w.slice(2, eq > 0 ? eq : undefined);
  const f = flagNamed(line.command, name);
  if (!f) return;
  line.given.add(f.name);
  if (f.type !== 'option') return;
  if (eq > 0) line.values.set(f.name, w.slice(eq + 1));
  else line.pending = f;
}

/** `-n ns`, `-nns`, `-n=ns`, and booleans run together (`-vy`), as oclif reads them. */
function readShortFlags(line: Line, w: string): void {
  if (!line.command) return;
  for (let i = 1; i < w.length; i++) {
    const f = line.command.flags.find((x) => x.char === w[i]);
    if (!f) return;
    line.given.add(f.name);
    if (f.type === 'option') {
      const rest = w.slice(i + 1).replace(/^=/, '');
      if (rest) line.values.set(f.name, rest);
      else line.pending = f;
      return;
    }
  }
}

/** Command words come first; a later word is a deeper command when one exists, else an argument. */
function readPositional(line: Line, w: string, tree: readonly CompletionCommand[]): void {
  const path = [...line.path, w];
  const id = path.join(':');
  if (line.command && !tree.some((c) => c.id === id)) return;
  line.path = path;
  line.command = tree.find((c) => c.id === id);
}

/** A flag by its long name; `no-x` finds x when x takes --no-x. */
function flagNamed(cmd: CompletionCommand, name: string): CompletionFlag | undefined {
  return cmd.flags.find((f) => f.name === name) ?? cmd.flags.find((f) => f.allowNo && `no-${f.name}` === name);
}

function commandNames(tree: readonly CompletionCommand[], line: Line, current: string): Completion {
  const seen = new Map<string, Candidate>();
  for (const c of tree) {
    if (c.hidden) continue;
    const segs = c.id.split(':');
    if (segs.length <= line.path.length || line.path.some((p, i) => segs[i] !== p)) continue;
    const next = segs[line.path.length]!;
    // A topic (a word with commands under it) is shown once, with its own summary when it is a command too.
    const isCommand = segs.length === line.path.length + 1;
    if (!seen.has(next) || isCommand) seen.set(next, { value: next, ...(isCommand && c.summary ? { description: c.summary } : {}) });
  }
  return matching([...seen.values()], current);
}

function flagNames(cmd: CompletionCommand, current: string, line: Line): Completion {
  const out: Candidate[] = [];
  const conflicts = (f: CompletionFlag) => f.exclusive.some((x) => line.given.has(x)) || cmd.flags.some((g) => line.given.has(g.name) && g.exclusive.includes(f.name));
  for (const f of cmd.flags) {
    if ((line.given.has(f.name) && !f.multiple) || conflicts(f)) continue;
    const description = f.summary ? { description: f.summary } : {};
    out.push({ value: `--${f.name}`, ...description });
    // The negations double a long list: offered once the user has typed --no-.
    if (f.allowNo && current.startsWith('--no-')) out.push({ value: `--no-${f.name}`, ...description });
    if (f.char && !current.startsWith('--')) out.push({ value: `-${f.char}`, ...description });
  }
  if (!line.given.has('help')) out.push(HELP);
  return matching(out, current);
}

async function flagValues(f: CompletionFlag, prefix: string, line: Line, sources: CompletionSources): Promise<Completion> {
  const conn: LineConnection = { ...(line.values.has('kubeconfig') ? { kubeconfig: line.values.get('kubeconfig')! } : {}), ...(line.values.has('context') ? { context: line.values.get('context')! } : {}) };
  switch (valueKind(f)) {
    case 'options':
      return matching((f.options ?? []).map((value) => ({ value })), prefix);
    case 'region':
      return matching(sources.regions().map((r) => ({ value: r.id, description: r.name })), prefix);
    case 'context':
      return matching(quietly(() => sources.contexts(conn), []).map((c) => ({ value: c.name, description: `cluster ${c.cluster}${c.current ? ' (current)' : ''}` })), prefix);
    case 'namespace': {
      const names = await sources.namespaces(conn).catch(() => [] as readonly string[]);
      return matching(names.map((value) => ({ value })), prefix);
    }
    case 'file':
      // No candidates and no "no files" bit: the shell completes paths itself.
      return { candidates: [], directive: Directive.Default };
    case 'none':
      return none();
  }
}

/** A TAB never shows an error: a source that fails offers nothing. */
function quietly<T>(fn: () => T, fallback: T): T {
  try {
    return fn();
  } catch {
    return fallback;
  }
}

/** Candidates that start with what is typed; files are never offered in their place. */
function matching(candidates: readonly Candidate[], prefix: string): Completion {
  return { candidates: candidates.filter((c) => c.value.startsWith(prefix)), directive: Directive.NoFileComp };
}

function none(): Completion {
  return { candidates: [], directive: Directive.NoFileComp };
}
