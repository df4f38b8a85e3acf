/**
 * The command and flag tree that completion walks, read from oclif's loaded config (its manifest), so a
 * new command or flag is completed without an edit here. Plain data: the engine and its tests need no oclif.
 */
import type { Command } from '@oclif/core';

export interface CompletionFlag {
  name: string;
  char?: string;
  summary?: string;
  /** 'option' takes a value; 'boolean' does not. */
  type: 'boolean' | 'option';
  options?: readonly string[];
  /** May be given again. */
  multiple: boolean;
  /** A boolean that also takes --no-<name>. */
  allowNo: boolean;
  /** Flags that cannot be given with this one. */
  exclusive: readonly string[];
}

export interface CompletionCommand {
  /** oclif id; topics are joined with ':' (typed as separate words, topicSeparator ' '). */
  id: string;
  summary?: string;
  hidden: boolean;
  /** Visible flags only: a hidden flag (--access-key-secret, kept only to refuse it) is never offered. */
  flags: CompletionFlag[];
}

/** The shape of oclif's config.commands entries that completion reads (Command.Loadable has more). */
export type LoadedCommand = Pick<Command.Loadable, 'id' | 'summary' | 'description' | 'hidden' | 'flags'> & { fleet?: unknown };

export function treeFromConfig(commands: readonly LoadedCommand[]): CompletionCommand[] {
  return commands.map((c) => ({
    id: c.id,
    ...summaryOf(c.summary ?? c.description),
    hidden: Boolean(c.hidden),
    flags: Object.values(c.flags ?? {})
      .filter((f) => !f.hidden)
      .map((f) => ({
        name: f.name,
        ...(f.char ? { char: f.char } : {}),
        ...summaryOf(f.summary ?? f.description),
        type: f.type,
        ...(f.type === 'option' && f.options?.length ? { options: f.options } : {}),
        // --context is declared repeatable for the fleet commands; the others refuse a second one (BaseCommand.init).
        multiple: f.type === 'option' && Boolean(f.multiple) && !(f.name === 'context' && !c.fleet),
        allowNo: f.type === 'boolean' && Boolean(f.allowNo),
        exclusive: f.exclusive ?? [],
      })),
  }));
}

/** One line, no tab: the protocol separates candidate and description with a tab and candidates with newlines. */
function summaryOf(text: string | undefined): { summary?: string } {
  const line = text?.split('\n')[0]?.replace(/\s+/g, ' ').trim();
  return line ? { summary: line } : {};
}
