import { parse } from '@oclif/core/parser';
import type { Interfaces } from '@oclif/core';

/** How a run asked for its output: the three flags every renderer follows. */
export interface OutputMode {
  json: boolean;
  verbose: boolean;
  noColor: boolean;
}

export const modeOf = (flags: Record<string, unknown>): OutputMode => {
  // The lenient parse reads every option as repeatable: the last -o wins, as in kubectl.
  const output = Array.isArray(flags.output) ? (flags.output as unknown[]).at(-1) : flags.output;
  return { json: output === 'json', verbose: Boolean(flags.verbose), noColor: Boolean(flags['no-color']) };
};

/**
 * The output mode of a run whose flags did not parse (or that named no command), from oclif's own
 * parser: a parse error carries what it had parsed; otherwise the words are parsed again with every
 * flag's own check left out, every option repeatable, and (if that fails too) without a last word
 * that lacks its value. Undefined when even that fails (the output flag itself was wrong).
 */
export async function modeOfFailedParse(argv: readonly string[], flags: Record<string, Interfaces.Flag<unknown>>, err?: unknown): Promise<OutputMode | undefined> {
  const parsedBy = (e: unknown) => (e as { parse?: { output?: { flags?: Record<string, unknown> } } } | undefined)?.parse?.output?.flags;
  const fromError = parsedBy(err);
  if (fromError) return modeOf(fromError);
  const lenient = Object.fromEntries(
    Object.entries(flags).map(([name, f]) => [
      name,
      f.type === 'option' ? { ...f, parse: async (v: string) => v, required: false, multiple: true, ...(name === 'output' ? {} : { options: undefined }) } : { ...f, required: false },
    ]),
  ) as Record<string, Interfaces.Flag<unknown>>;
  for (const words of [argv, argv.slice(0, -1)]) {
    try {
      return modeOf((await parse([...words], { flags: lenient, strict: false })).flags as Record<string, unknown>);
    } catch (e) {
      const partial = parsedBy(e);
      if (partial) return modeOf(partial);
    }
  }
  return undefined;
}
