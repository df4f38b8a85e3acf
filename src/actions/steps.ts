/**
 * An action is a list of named, ordered steps over a typed context. Actions never print: the command
 * layer shows the steps as a listr2 task tree (src/output/tasks.ts), tests run them with `runSteps`.
 * Both go through one `StepRunner`, so which rollbacks run after a failure is decided in one place.
 */
import { ExitCode, InsightError } from '../errors.js';

export interface StepReporter {
  /** A short line of progress ("3/5 pods ready"). */
  progress(message: string): void;
  /** Change the step's title to say what it actually did ("custom resource already gone"). */
  title(text: string): void;
}

export interface Step<C> {
  title: string;
  /** Return a reason to skip this step, or false. */
  skip?(ctx: C): string | false;
  run(ctx: C, report: StepReporter): Promise<void>;
  /**
   * Undo what this step changed. Runs when this step fails (it may have changed something before
   * failing) or when a later one does, at most once per run. Throws when it could not undo: the runner
   * still reports the step's own error, with this one added.
   */
  rollback?(ctx: C, report: StepReporter): Promise<void>;
}

export const silentReporter: StepReporter = { progress() {}, title() {} };

/** A run failed, and undoing it failed too: both errors, the original one first. */
export class RollbackFailed extends InsightError {
  readonly original: unknown;
  readonly rollbackErrors: unknown[];
  readonly rollbackMessage: string;

  constructor(original: unknown, rollbackErrors: unknown[]) {
    const text = (e: unknown) => (e instanceof Error ? e.message : String(e));
    const rollbackMessage = rollbackErrors.map(text).join('; ');
    const base = original instanceof InsightError ? original : undefined;
    super(base?.kind ?? 'failed', `${text(original)}; the rollback failed too: ${rollbackMessage}`, {
      hint: base?.hint,
      // A bug stays a bug (exit 70) when its rollback fails too.
      exitCode: base ? base.exitCode : ExitCode.Bug,
      cause: original,
      details: { ...(base?.details ?? {}), rollbackError: rollbackMessage },
    });
    this.original = original;
    this.rollbackErrors = rollbackErrors;
    this.rollbackMessage = rollbackMessage;
  }
}

/**
 * Runs one action's steps and owns the rollback rule. When a step fails, the rollbacks of that step
 * and of every step that ran before it run, newest first, each once, and the whole rollback happens
 * once per run however many times it is asked for (listr asks from the failing task). A rollback
 * that fails does not stop the older ones; the run then fails with `RollbackFailed`, carrying the
 * step's error and the rollback's.
 */
export class StepRunner<C> {
  private readonly ran: Step<C>[] = [];
  private rolledBack?: Promise<unknown[]>;

  constructor(
    readonly steps: readonly Step<C>[],
    readonly ctx: C,
  ) {}

  /** Whether a failure at this step can have anything to undo (listr shows a rollback only there). */
  mayRollBack(step: Step<C>): boolean {
    const i = this.steps.indexOf(step);
    return this.steps.slice(0, i + 1).some((s) => s.rollback !== undefined);
  }

  async run(step: Step<C>, report: StepReporter): Promise<void> {
    // Recorded before it runs: a step that fails half-way may have changed something.
    this.ran.push(step);
    await step.run(this.ctx, report);
  }

  /** Run the rollbacks the rule names (once); returns the errors of those that failed. */
  rollback(report: StepReporter): Promise<unknown[]> {
    this.rolledBack ??= (async () => {
      const errors: unknown[] = [];
      for (const s of [...this.ran].reverse()) {
        if (!s.rollback) continue;
        try {
          await s.rollback(this.ctx, report);
        } catch (e) {
          errors.push(e);
        }
      }
      return errors;
    })();
    return this.rolledBack;
  }

  /** The error a failed run ends with: the step's own, or `RollbackFailed` when undoing it failed. */
  async failure(e: unknown, report: StepReporter): Promise<unknown> {
    const errors = await this.rollback(report);
    return errors.length ? new RollbackFailed(e, errors) : e;
  }
}

/** Run steps in order without any UI; a failure rolls back by the `StepRunner` rule. */
export async function runSteps<C>(steps: Step<C>[], ctx: C, report: StepReporter = silentReporter): Promise<void> {
  const runner = new StepRunner(steps, ctx);
  for (const step of steps) {
    if (step.skip?.(ctx)) continue;
    try {
      await runner.run(step, report);
    } catch (e) {
      throw await runner.failure(e, report);
    }
  }
}
