import { Command } from '@oclif/core/command';
import * as Errors from '@oclif/core/errors';
import * as Flags from '@oclif/core/flags';
import type { Interfaces } from '@oclif/core';
import type { ChalkInstance } from 'chalk';
import { CHART, ENV } from './defaults.js';
import { ExitCode, InsightError } from './errors.js';
import { renderError } from './output/errors.js';
import { checkNamespace, checkRelease, shownValue } from './input.js';

/** Flags every command takes, with kubectl's meaning. */
export const sharedFlags = {
  kubeconfig: Flags.string({ summary: 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config).', helpGroup: 'GLOBAL' }),
  context: Flags.string({ summary: 'The kubeconfig context to use.', helpGroup: 'GLOBAL' }),
  namespace: Flags.string({ char: 'n', summary: 'Namespace of the release.', default: CHART.namespace, helpGroup: 'GLOBAL', parse: async (v) => checkNamespace(v) }),
  release: Flags.string({ summary: 'Helm release name.', default: CHART.release, helpGroup: 'GLOBAL', parse: async (v) => checkRelease(v) }),
  output: Flags.string({ char: 'o', summary: 'Output format.', options: ['text', 'json'], default: 'text', helpGroup: 'GLOBAL' }),
  'no-color': Flags.boolean({ summary: 'Disable colour (also: NO_COLOR=1).', default: false, helpGroup: 'GLOBAL' }),
  verbose: Flags.boolean({ char: 'v', summary: 'Show more detail (passed checks, evidence, causes).', default: false, helpGroup: 'GLOBAL' }),
  yes: Flags.boolean({ char: 'y', summary: 'Answer yes to confirmations (non-interactive use).', default: false, helpGroup: 'GLOBAL' }),
  'helm-binary': Flags.string({ summary: 'helm executable to use (default: helm on PATH).', helpGroup: 'GLOBAL' }),
};

export type SharedFlags = Interfaces.InferredFlags<typeof sharedFlags>;

/**
 * The base command: binds the shared flags and maps errors to exit codes. Kept small on purpose:
 * behaviour lives in actions and checks, rendering in src/output.
 */
export abstract class BaseCommand extends Command {
  static override baseFlags = sharedFlags;

  protected flagsForError: { json: boolean; verbose: boolean; noColor: boolean } = {
    json: process.argv.slice(2).some((a, i, all) => /^(-o|--output)=?json$/.test(a) || ((a === '-o' || a === '--output') && all[i + 1] === 'json')),
    verbose: process.argv.includes('-v') || process.argv.includes('--verbose'),
    noColor: process.argv.includes('--no-color'),
  };

  /** Loaded on use: `--help` and `version` never pay for chalk. */
  protected async chalkFor(flags: Pick<SharedFlags, 'no-color'>, stream: NodeJS.WriteStream = process.stdout): Promise<ChalkInstance> {
    const { makeChalk } = await import('./output/style.js');
    return makeChalk({ noColor: flags['no-color'], isTTY: Boolean(stream.isTTY) });
  }

  /** Print to stdout (the only place commands write results). */
  protected out(text: string): void {
    process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  override async catch(err: Error & { exitCode?: number; oclif?: { exit?: number } }): Promise<void> {
    // oclif's own exit (this.exit) is not an error.
    if (err instanceof Errors.ExitError) throw err;
    // A flag error stops parsing; without this oclif warns "did not parse its arguments" outside production.
    this.parsed = true;
    let e: unknown = err;
    // oclif wraps a flag's parse error as "Parsing --flag \n\t<reason>\nSee more help with --help":
    // keep the reason (ours already names the flag) on one line.
    const wrapped = /^Parsing --(\S+) \n\t([\s\S]*?)\nSee more help with --help$/.exec(err.message ?? '');
    if (wrapped && err instanceof InsightError) err.message = wrapped[2]!;
    else if (wrapped) {
      // oclif's reason quotes the value ("Expected an integer but received: <value>"): keep only a short one.
      const reason = wrapped[2]!.split('\n')[0]!.replace(/(received|value): (.*)$/, (_m, k: string, v: string) => `${k}: ${shownValue(v)}`);
      e = new InsightError('usage', `--${wrapped[1]}: ${reason}`, { hint: `See \`kubectl insight ${this.id ?? ''} --help\`.`.replace('  ', ' ') });
    }
    // Flag parsing errors from oclif are bad usage: one line, exit 2, and never the value that was
    // typed (a secret pasted into the wrong flag or position must not be printed back).
    else if (err instanceof Errors.CLIError && !(err instanceof InsightError)) {
      e = usageWithoutValues(err.message.split('\n')[0] ?? 'bad usage', `See \`kubectl insight ${this.id ?? ''} --help\`.`.replace('  ', ' '));
    }
    const { makeChalk } = await import('./output/style.js');
    const c = makeChalk({ noColor: this.flagsForError.noColor, isTTY: Boolean(process.stderr.isTTY) });
    const r = renderError(e, c, { json: this.flagsForError.json, verbose: this.flagsForError.verbose });
    // JSON errors go to stdout so a pipe into jq sees them; text errors to stderr.
    (this.flagsForError.json ? process.stdout : process.stderr).write(`${r.text}\n`);
    process.exitCode = r.exitCode;
  }

  /** Commands not built yet say so and fail; they never pretend to succeed. */
  protected notBuilt(issue: number): never {
    throw new InsightError('failed', `kubectl insight ${this.id} is not built yet`, {
      hint: `Tracked in issue #${issue}.`,
      exitCode: ExitCode.Failed,
    });
  }
}

/** oclif's parse errors, reworded so no typed value survives; `--access-key-secret` gets the secret's own advice. */
export function usageWithoutValues(line: string, hint: string): InsightError {
  const nonexistent = /^Nonexistent flags?: (.*)$/.exec(line);
  if (nonexistent) {
    const names = nonexistent[1]!.split(/,\s*/).map((f) => f.replace(/=.*$/, ''));
    if (names.includes('--access-key-secret')) {
      return new InsightError('usage', 'the AccessKey secret is not accepted on the command line (--access-key-secret)', {
        hint: `It would show in \`ps\` and your shell history; use ${ENV.accessKeySecret}, --access-key-secret-stdin or a values file (-f). If you already typed it, consider rotating the key.`,
      });
    }
    return new InsightError('usage', `unknown flag ${names.join(', ')}`, { hint });
  }
  if (/^Unexpected arguments?: /.test(line)) return new InsightError('usage', 'unexpected argument (its value is not shown)', { hint: `This command takes flags only. ${hint}` });
  const options = /^Expected (--[\w-]+)=.* to be one of: (.*)$/.exec(line);
  if (options) return new InsightError('usage', `${options[1]} must be one of: ${options[2]}`, { hint });
  return new InsightError('usage', line.replace(/(--[\w-]+)=\S+/g, '$1=…'), { hint });
}
