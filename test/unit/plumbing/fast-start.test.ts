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

  it('renders help only at the width it was rendered for, by oclif width rules', () => {
    expect(fastAnswer(['--help'], { ...pipe, stdout: { isTTY: true, columns: HELP_COLUMNS } })).toBeDefined();
    expect(fastAnswer(['--help'], { ...pipe, stdout: { isTTY: true, columns: 132 } })).toBeUndefined();
    expect(fastAnswer(['--help'], { ...pipe, env: { OCLIF_COLUMNS: '100' } })).toBeUndefined();
    expect(fastAnswer(['--help'], { ...pipe, env: { OCLIF_COLUMNS: '80' }, stdout: { isTTY: true, columns: 200 } })).toBeDefined();
    // A terminal too narrow is rendered at oclif's minimum, 40: not the text we have.
    expect(fastAnswer(['--help'], { ...pipe, stdout: { isTTY: true, columns: 20 } })).toBeUndefined();
  });

  it('falls back when there is no rendered help, or it lacks the mark, or when told to', () => {
    expect(fastAnswer(['--help'], { ...pipe, help: () => undefined })).toBeUndefined();
    expect(fastAnswer(['--help'], { ...pipe, help: () => 'USAGE\n' })).toBeUndefined();
    expect(fastAnswer(['version'], { ...pipe, env: { INSIGHT_NO_FAST_START: '1' } })).toBeUndefined();
  });
});
