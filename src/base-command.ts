import { stripVTControlCharacters } from 'node:util';
import { Command } from '@oclif/core/command';
import * as Errors from '@oclif/core/errors';
import * as Flags from '@oclif/core/flags';
import type { Interfaces } from '@oclif/core';
import type { ChalkInstance } from 'chalk';
import { CHART, ENV } from './defaults.js';
import { InsightError } from './errors.js';
import { checkNamespace, checkRelease, shownValue } from './input.js';
import { Configuration } from './configuration.js';
import type { Step } from './actions/steps.js';
import { modeOf, modeOfFailedParse, type OutputMode } from './output/mode.js';

/** Flags every command takes, with kubectl's meaning. */
export const sharedFlags = {
  kubeconfig: Flags.string({ summary: 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config).', helpGroup: 'GLOBAL' }),
  // Repeatable for the fleet commands (doctor, preflight, version); the others take one (see init).
  context: Flags.string({ summary: 'The kubeconfig context to use (doctor, preflight and version take it again for each cluster of a fleet run).', multiple: true, multipleNonGreedy: true, helpGroup: 'GLOBAL' }),
  namespace: Flags.string({ char: 'n', summary: 'Namespace of the release.', default: CHART.namespace, helpGroup: 'GLOBAL', parse: async (v) => checkNamespace(v) }),
  release: Flags.string({ summary: 'Helm release name.', default: CHART.release, helpGroup: 'GLOBAL', parse: async (v) => checkRelease(v) }),
  output: Flags.string({ char: 'o', summary: 'Output format.', options: ['text', 'json'], default: 'text', helpGroup: 'GLOBAL' }),
  'no-color': Flags.boolean({ summary: 'Disable colour (also: NO_COLOR=1).', default: false, helpGroup: 'GLOBAL' }),
  verbose: Flags.boolean({ char: 'v', summary: 'Show more detail (passed checks, evidence, causes).', default: false, helpGroup: 'GLOBAL' }),
  yes: Flags.boolean({ char: 'y', summary: 'Answer yes to confirmations (non-interactive use).', default: false, helpGroup: 'GLOBAL' }),
  'helm-binary': Flags.string({ summary: 'helm executable to use (default: helm on PATH).', helpGroup: 'GLOBAL' }),
};

export type SharedFlags = Interfaces.InferredFlags<typeof sharedFlags>;
export type FlagsOf<T extends typeof Command> = Interfaces.InferredFlags<(typeof BaseCommand)['baseFlags'] & T['flags']>;

/** What a command returns: the base class prints it as text or JSON, and sets the exit code. */
export interface CommandResult {
  /** The `-o json` document: an object (serialized here) or text src/output already serialized. */
  json(): unknown;
  /** The text output: plain, or rendered with colour (chalk is loaded only then). */
  text: string | ((c: ChalkInstance) => string);
  /** Default 0. */
  exitCode?: number;
}


/**
 * The command runner. It parses the flags once (kept in `this.flags`), owns one Configuration (the
 * Kubernetes client and helm for this run), renders what `execute()` returns as text or JSON, renders
 * errors the same way, and asks every confirmation. Commands are thin: flags in, one call, result out.
 */
export abstract class BaseCommand<T extends typeof Command = typeof Command> extends Command {
  static override baseFlags = sharedFlags;
  /** Whether the command runs on several contexts at once (src/fleet). */
  static fleet = false;

  protected flags!: FlagsOf<T>;
  protected cfg!: Configuration;

  protected abstract execute(): Promise<CommandResult>;

  override async init(): Promise<void> {
    await super.init();
    const ctor = this.ctor as typeof BaseCommand;
    const { flags } = await this.parse({ flags: ctor.flags, baseFlags: (super.ctor as typeof BaseCommand).baseFlags, args: ctor.args, strict: ctor.strict });
    this.flags = flags as FlagsOf<T>;
    const contexts = (this.flags as SharedFlags).context ?? [];
    if (contexts.length > 1 && !ctor.fleet) {
      throw new InsightError('usage', `--context is given ${contexts.length} times: kubectl insight ${this.id ?? ''} works on one cluster at a time`.replace(/ {2}/, ' '), {
        hint: 'Give one --context. Several clusters in one run (fleet mode) are for doctor, preflight and version.',
      });
    }
    this.cfg = new Configuration(this.flags);
  }

  async run(): Promise<void> {
    const result = await this.execute();
    const mode = this.outputMode();
    if (mode.json) {
      const j = result.json();
      this.out(typeof j === 'string' ? j : await redacted(JSON.stringify(j, null, 2)));
    } else {
      this.out(await redacted(typeof result.text === 'string' ? result.text : result.text(await this.chalk())));
    }
    if (result.exitCode) process.exitCode = result.exitCode;
  }

  override async finally(err: Error | undefined): Promise<unknown> {
    await this.cfg?.close();
    return super.finally(err);
  }

  protected get json(): boolean {
    return this.outputMode().json;
  }

  /** Loaded on use: `--help` and `version` never pay for chalk. */
  protected async chalk(stream: NodeJS.WriteStream = process.stdout): Promise<ChalkInstance> {
    const { makeChalk } = await import('./output/style.js');
    return makeChalk({ noColor: this.outputMode().noColor, isTTY: Boolean(stream.isTTY) });
  }

  /**
   * The one confirmation: true with --yes; undefined when nobody can be asked (JSON output, or stdin or
   * stderr not a terminal), so the caller refuses with its own reason; else the user's answer.
   */
  protected async confirm(question: string, shownFirst?: string): Promise<boolean | undefined> {
    if (this.flags.yes) return true;
    if (!this.canAsk) return undefined;
    if (shownFirst) process.stderr.write(`${shownFirst}\n`);
    const { askYesNo } = await import('./output/confirm.js');
    return askYesNo(question);
  }

  /** Whether a question can be put to a person: text output, and stdin and stderr are terminals. */
  protected get canAsk(): boolean {
    return !this.json && Boolean(process.stdin.isTTY && process.stderr.isTTY);
  }

  /** Run an action's steps with the progress display this run's flags call for. */
  protected async runSteps<C extends object>(steps: Step<C>[], ctx: C): Promise<void> {
    const { runStepsWithProgress, chooseRenderer } = await import('./output/tasks.js');
    const mode = this.outputMode();
    await runStepsWithProgress(steps, ctx, chooseRenderer({ json: mode.json, verbose: mode.verbose, isTTY: Boolean(process.stderr.isTTY) }), mode.noColor);
  }

  /** Text printed to stderr above a failure's error lines (what was done, pods not ready): none by default. */
  protected async failureDetail(_e: unknown, _c: ChalkInstance): Promise<string | undefined> {
    return undefined;
  }

  /**
   * Text for the person at the terminal while the command runs (progress, a plan before its question):
   * printed with text output only, so -o json stays one document.
   */
  protected async tell(render: (c: ChalkInstance) => string, stream: NodeJS.WriteStream = process.stderr): Promise<void> {
    if (this.json) return;
    const text = render(await this.chalk(stream));
    stream.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  /** A status line rewritten in place on a terminal (stderr), for text output only. */
  protected async status(): Promise<import('./output/progress.js').StatusLine> {
    const { statusLine } = await import('./output/progress.js');
    return statusLine(await this.chalk(process.stderr), { enabled: !this.json && Boolean(process.stderr.isTTY) });
  }

  /** Fleet progress on a terminal: how many contexts are done and which run (stderr, text output only). */
  protected async fleetProgress(total: number): Promise<{ onStart(t: { context: string }): void; onSettled(o: unknown, done: number): void; end(): void }> {
    const status = await this.status();
    const running = new Set<string>();
    let done = 0;
    const show = () => status.show(`${done}/${total} contexts done${running.size ? `; checking ${[...running].slice(0, 3).join(', ')}${running.size > 3 ? ', ...' : ''}` : ''}`);
    return {
      onStart: (t) => {
        running.add(t.context);
        show();
      },
      onSettled: (o, n) => {
        running.delete((o as { target: { context: string } }).target.context);
        done = n;
        show();
      },
      end: () => status.show(''),
    };
  }

  /** Print to stdout (the only place results are written). */
  protected out(text: string): void {
    process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  /** The output flags of this run; when the flags did not parse, what modeOfFailedParse recovered (else text). */
  private outputMode(): OutputMode {
    if (this.flags) return modeOf(this.flags);
    return this.fallbackMode ?? { json: false, verbose: false, noColor: false };
  }

  private fallbackMode?: OutputMode;

  override async catch(err: Error & { exitCode?: number; oclif?: { exit?: number } }): Promise<void> {
    // oclif's own exit (this.exit) is not an error.
    if (err instanceof Errors.ExitError) throw err;
    // A flag error stops parsing; without this oclif warns "did not parse its arguments" outside production.
    this.parsed = true;
    if (!this.flags) {
      this.fallbackMode = await modeOfFailedParse(this.argv, { ...sharedFlags, ...this.ctor.flags } as unknown as Record<string, Interfaces.Flag<unknown>>, err);
    }
    const mode = this.outputMode();
    const e = userError(err, this.id);
    const c = await this.chalk(process.stderr);
    if (!mode.json) {
      const detail = await this.failureDetail(e, c);
      if (detail) process.stderr.write(`${await redacted(detail)}\n`);
    }
    const { renderError } = await import('./output/errors.js');
    const r = renderError(e, c, { json: mode.json, verbose: mode.verbose });
    // JSON errors go to stdout so a pipe into jq sees them; text errors to stderr.
    (mode.json ? process.stdout : process.stderr).write(`${r.text}\n`);
    process.exitCode = r.exitCode;
  }
}

async function redacted(text: string): Promise<string> {
  const { redact } = await import('./secret.js');
  return redact(text);
}

/** oclif's parse errors as one-line usage errors that never repeat a typed value; others as they are. */
function userError(err: Error, id: string | undefined): unknown {
  const help = `See \`kubectl insight ${id ?? ''} --help\`.`.replace('  ', ' ');
  // oclif wraps a flag's parse error as "Parsing --flag \n\t<reason>\nSee more help with --help":
  // keep the reason (ours already names the flag) on one line.
  const wrapped = /^Parsing --(\S+) \n\t([\s\S]*?)\nSee more help with --help$/.exec(err.message ?? '');
  if (wrapped && err instanceof InsightError) {
    err.message = wrapped[2]!;
    return err;
  }
  if (wrapped) {
    // oclif's reason quotes the value ("Expected an integer but received: <value>"): keep only a short one.
    const reason = wrapped[2]!.split('\n')[0]!.replace(/(received|value): (.*)$/, (_m, k: string, v: string) => `${k}: ${shownValue(v)}`);
    return new InsightError('usage', `--${wrapped[1]}: ${reason}`, { hint: help });
  }
  // Flag parsing errors from oclif are bad usage: one line, exit 2, and never the value that was
  // typed (a secret pasted into the wrong flag or position must not be printed back).
  if (err instanceof Errors.CLIError && !(err instanceof InsightError)) {
    // Flag constraints (exclusive, dependsOn) come as "The following error occurred:" with the reasons below.
    const lines = err.message.split('\n');
    // oclif dims the reasons with colour codes.
    const reasons = /^The following errors? occurred:$/.test(lines[0] ?? '') ? lines.slice(1).map((l) => stripVTControlCharacters(l).trim()).filter((l) => l && !/^See more help/.test(l)) : [];
    // One line: the first reason (the others are the same constraint seen from the other flag).
    return usageWithoutValues(reasons[0] ?? lines[0] ?? 'bad usage', help);
  }
  return err;
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
  const exclusive = /^(--[\w-]+)=\S* cannot also be provided when using (--[\w-]+)$/.exec(line);
  if (exclusive) return new InsightError('usage', `${exclusive[1]} cannot be used with ${exclusive[2]}`, { hint });
  const options = /^Expected (--[\w-]+)=.* to be one of: (.*)$/.exec(line);
  if (options) return new InsightError('usage', `${options[1]} must be one of: ${options[2]}`, { hint });
  return new InsightError('usage', line.replace(/(--[\w-]+)=\S+/g, '$1=…'), { hint });
}
