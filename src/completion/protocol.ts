/**
 * Cobra's `__complete` protocol, which kubectl (>= 1.26) speaks to plugins: kubectl runs
 * `kubectl_complete-<plugin> <words after the plugin name...> <word being completed>` (the last one ''
 * after a space), keeps the output lines as candidates (`candidate` or `candidate\tdescription`) and reads
 * a last line `:<directive>`; a non-zero exit, or anything printed to stderr, reaches the user's terminal
 * as nothing useful, so completion always exits 0 and writes stdout only.
 * (k8s.io/kubectl/pkg/cmd/plugin/plugin_completion.go, getPluginCompletions.)
 */
/** The directive bits (cobra.ShellCompDirective). */
export const Directive = {
  Default: 0,
  Error: 1,
  NoSpace: 2,
  NoFileComp: 4,
  FilterFileExt: 8,
  FilterDirs: 16,
  KeepOrder: 32,
} as const;

export interface Candidate {
  value: string;
  description?: string;
}

export interface Completion {
  candidates: Candidate[];
  /** A sum of Directive bits. */
  directive: number;
}

/** The hidden command the shell scripts and kubectl_complete-insight call. */
export const COMPLETE_COMMAND = '__complete';

/** The name kubectl looks for on PATH to complete `kubectl insight ...`. */
export const KUBECTL_COMPLETE_NAME = 'kubectl_complete-insight';

/**
 * The candidates, one a line, then `:<directive>`. A candidate with a tab or newline in it would break
 * the lines, so it is left out; descriptions are one line already (./tree.ts) and lose any tab.
 */
export function renderCompletion(c: Completion): string {
  const lines = c.candidates
    .filter((x) => x.value !== '' && !/[\t\n\r]/.test(x.value))
    .map((x) => (x.description ? `${x.value}\t${x.description.replace(/[\t\n\r]+/g, ' ')}` : x.value));
  return `${[...lines, `:${c.directive}`].join('\n')}\n`;
}

/**
 * The argv for main() when the executable runs as `kubectl_complete-insight` (a link or copy of the
 * plugin under kubectl's completion name): `__complete -- <args>`, else undefined. The `--` keeps the
 * words away from oclif, which answers a `--help` anywhere on the line with the help text.
 */
export function completionArgv(argv0: string, args: string[]): string[] | undefined {
  // Either separator: the standalone executable's argv0 is a Windows path there.
  const name = (argv0.split(/[\\/]/).at(-1) ?? '').replace(/\.(exe|js)$/i, '');
  return name === KUBECTL_COMPLETE_NAME ? [COMPLETE_COMMAND, '--', ...args] : undefined;
}

/** The words after `__complete`: a leading `--` (see completionArgv) is the separator, not a typed word. */
export function wordsOf(argv: readonly string[]): string[] {
  const words = argv[0] === '--' ? argv.slice(1) : [...argv];
  // Called with nothing: complete an empty first word.
  return words.length ? words : [''];
}
