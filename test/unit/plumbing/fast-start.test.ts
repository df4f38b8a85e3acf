import { describe, expect, it } from 'vitest';
import { fastAnswer, HELP_COLUMNS, USER_AGENT_MARK } from '../../../src/fast-start.js';

const help = `VERSION\n  ${USER_AGENT_MARK}\n\nUSAGE\n  $ kubectl-insight [COMMAND]\n`;
const pipe = { help: () => help, env: {}, stdout: { isTTY: false } };

describe('fast start', () => {
  it('answers version with the runtime the full command names', () => {
    expect(fastAnswer(['version'], pipe)).toBe(`kubectl-insight 0.0.0-dev (node ${process.versions.node}, ${process.platform}/${process.arch})\n`);
  });

  it('answers the top-level help (bare or --help) with the user agent filled in', () => {
    const text = fastAnswer(['--help'], pipe)!;
    expect(text).toContain(`kubectl-insight/0.0.0-dev ${process.platform}-${process.arch} node-${process.version}`);
    expect(text).not.toContain(USER_AGENT_MARK);
    expect(fastAnswer([], pipe)).toBe(text);
  });

  it('leaves everything else to the full CLI', () => {
    for (const argv of [['version', '-o', 'json'], ['version', '--context', 'a'], ['doctor'], ['--help', 'doctor'], ['doctor', '--help'], ['-h'], ['help'], ['--version']]) {
      expect(fastAnswer(argv, pipe), argv.join(' ')).toBeUndefined();
    }
  });

  it('answers help only into a pipe at the width it was rendered for, without forced colour', () => {
    expect(fastAnswer(['--help'], { ...pipe, env: { OCLIF_COLUMNS: String(HELP_COLUMNS) } })).toBeDefined();
    expect(fastAnswer(['--help'], { ...pipe, env: { OCLIF_COLUMNS: '100' } })).toBeUndefined();
    // oclif styles headings on a terminal (any width) and when colour is forced.
    expect(fastAnswer(['--help'], { ...pipe, stdout: { isTTY: true, columns: HELP_COLUMNS } })).toBeUndefined();
    expect(fastAnswer(['--help'], { ...pipe, env: { FORCE_COLOR: '1' } })).toBeUndefined();
    // version has no styling: a terminal gets the fast answer.
    expect(fastAnswer(['version'], { ...pipe, stdout: { isTTY: true, columns: 132 } })).toBeDefined();
  });

  it('falls back when there is no rendered help, or it lacks the mark, or when told to', () => {
    expect(fastAnswer(['--help'], { ...pipe, help: () => undefined })).toBeUndefined();
    expect(fastAnswer(['--help'], { ...pipe, help: () => 'USAGE\n' })).toBeUndefined();
    expect(fastAnswer(['version'], { ...pipe, env: { INSIGHT_NO_FAST_START: '1' } })).toBeUndefined();
  });
});
