import { describe, expect, it } from 'vitest';
import { completionArgv, Directive, renderCompletion, wordsOf } from '../../../src/completion/protocol.js';
import { completionArgv as fromCommand } from '../../../src/commands/complete.js';

describe('Cobra __complete output', () => {
  it('is one candidate a line, `value<TAB>description`, then :<directive>', () => {
    expect(renderCompletion({ candidates: [{ value: 'json' }, { value: 'doctor', description: 'Find why.' }], directive: Directive.NoFileComp })).toBe('json\ndoctor\tFind why.\n:4\n');
    expect(renderCompletion({ candidates: [], directive: Directive.Default })).toBe(':0\n');
  });

  it('keeps every candidate on its own line: a value with a tab or newline is left out, a description loses them', () => {
    const out = renderCompletion({ candidates: [{ value: 'a\nb' }, { value: 'c\td' }, { value: '' }, { value: 'ok', description: 'two\nlines\tand a tab' }], directive: 4 });
    expect(out).toBe('ok\ttwo lines and a tab\n:4\n');
  });
});

describe('completionArgv', () => {
  it('runs __complete when the executable is named kubectl_complete-insight (any folder, .exe)', () => {
    expect(completionArgv('/usr/local/bin/kubectl_complete-insight', ['doctor', '--out'])).toEqual(['__complete', '--', 'doctor', '--out']);
    expect(completionArgv('C:\\Users\\me\\.krew\\bin\\kubectl_complete-insight.exe', [''])).toEqual(['__complete', '--', '']);
    expect(completionArgv('kubectl_complete-insight', [])).toEqual(['__complete', '--']);
  });

  it('is undefined under any other name', () => {
    expect(completionArgv('/usr/local/bin/kubectl-insight', ['doctor'])).toBeUndefined();
    expect(completionArgv('kubectl_complete-insightx', [])).toBeUndefined();
    expect(completionArgv('/x/kubectl_complete-insight/kubectl-insight', [])).toBeUndefined();
  });

  it('is exported from the command module too', () => {
    expect(fromCommand).toBe(completionArgv);
  });
});

describe('the words after __complete', () => {
  it('drop one leading -- (the separator), keep the rest as typed', () => {
    expect(wordsOf(['--', 'doctor', '--', ''])).toEqual(['doctor', '--', '']);
    expect(wordsOf(['doctor', ''])).toEqual(['doctor', '']);
    expect(wordsOf(['--'])).toEqual(['']);
    expect(wordsOf([])).toEqual(['']);
  });
});
