/**
 * The two answers that need no framework: `version` and the top-level help. Loading oclif costs
 * several times Node's own start, and these are what scripts, shells and krew run most, so they are
 * answered from text oclif rendered at build time (scripts/build.mjs writes dist/help.txt). Anything
 * else, or any doubt (a terminal, forced colour, another width, extra words), goes to the full CLI.
 * Node builtins only: this module must stay cheap to load.
 */
import { VERSION } from './version.js';

/** Stands in the rendered help for oclif's user agent line, which names the runtime. */
export const USER_AGENT_MARK = '\u0000user-agent\u0000';
/** The width the help is rendered at (oclif's width for a pipe, and a common terminal's). */
export const HELP_COLUMNS = 80;

export interface StartEnv {
  /** The help text rendered at HELP_COLUMNS with USER_AGENT_MARK, or undefined when there is none. */
  help: () => string | undefined;
  env: NodeJS.ProcessEnv;
  stdout: { isTTY?: boolean; columns?: number };
}

/** The text to print for argv, or undefined when the full CLI must answer. */
export function fastAnswer(argv: readonly string[], s: StartEnv): string | undefined {
  if (s.env.INSIGHT_NO_FAST_START) return undefined;
  if (argv.length === 1 && argv[0] === 'version') return `kubectl-insight ${VERSION} (node ${process.versions.node}, ${process.platform}/${process.arch})\n`;
  if (argv.length > 1 || (argv.length === 1 && argv[0] !== '--help')) return undefined;
  // oclif styles the help's headings on a terminal or when colour is forced; the text here is plain.
  if (s.stdout.isTTY || s.env.FORCE_COLOR) return undefined;
  if (helpColumns(s) !== HELP_COLUMNS) return undefined;
  const help = s.help();
  if (help === undefined || !help.includes(USER_AGENT_MARK)) return undefined;
  return help.replace(USER_AGENT_MARK, `kubectl-insight/${VERSION} ${process.platform}-${process.arch} node-${process.version}`);
}

/** oclif's own rule for the help width off a terminal: OCLIF_COLUMNS, else 80. */
function helpColumns(s: StartEnv): number {
  return Number.parseInt(s.env.OCLIF_COLUMNS ?? '', 10) || 80;
}

/** Answers argv here when it can (true), else leaves it to the full CLI (false). */
export function startFast(argv: readonly string[], help: () => string | undefined): boolean {
  const text = fastAnswer(argv, { help, env: process.env, stdout: process.stdout });
  if (text === undefined) return false;
  process.stdout.write(text);
  return true;
}
