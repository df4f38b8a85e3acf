import type { ChalkInstance } from 'chalk';

/** One dim status line on a terminal, rewritten in place; nothing when not on a TTY or with JSON output. */
export interface StatusLine {
  /** Show this text; an empty text clears the line. */
  show(text: string): void;
}

export function statusLine(c: ChalkInstance, opts: { enabled: boolean; stream?: NodeJS.WriteStream }): StatusLine {
  const stream = opts.stream ?? process.stderr;
  return {
    show(text) {
      if (!opts.enabled) return;
      stream.write(text ? `\r\x1b[2K${c.dim(text)}` : '\r\x1b[2K');
    },
  };
}
