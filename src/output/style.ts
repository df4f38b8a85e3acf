import { Chalk, type ChalkInstance } from 'chalk';

export interface StyleOptions {
  /** --no-color */
  noColor?: boolean;
  env?: NodeJS.ProcessEnv;
  isTTY?: boolean;
}

/** Colour on a TTY unless --no-color or NO_COLOR (https://no-color.org) says otherwise; FORCE_COLOR wins. */
export function makeChalk(opts: StyleOptions = {}): ChalkInstance {
  const env = opts.env ?? process.env;
  const tty = opts.isTTY ?? Boolean(process.stdout.isTTY);
  let level: 0 | 1 | 2 | 3 = tty ? 1 : 0;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') level = 1;
  if (opts.noColor || (env.NO_COLOR !== undefined && env.NO_COLOR !== '')) level = 0;
  return new Chalk({ level });
}

export const SYMBOLS = { passed: '✔', failed: '✖', warning: '‼', skipped: '-', info: 'ℹ' } as const;
