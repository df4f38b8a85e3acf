/**
 * An action is a list of named, ordered steps over a typed context. Actions never print: the command
 * layer shows the steps as a listr2 task tree (src/output/tasks.ts), tests run them with `runSteps`.
 */
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
  /** Undo this step when a later step fails (install: nothing; upgrade: roll back). */
  rollback?(ctx: C, report: StepReporter): Promise<void>;
}

export const silentReporter: StepReporter = { progress() {}, title() {} };

/** Run steps in order without any UI; a failure runs the rollbacks of the steps done, newest first. */
export async function runSteps<C>(steps: Step<C>[], ctx: C, report: StepReporter = silentReporter): Promise<void> {
  const done: Step<C>[] = [];
  for (const step of steps) {
    if (step.skip?.(ctx)) continue;
    try {
      await step.run(ctx, report);
      done.push(step);
    } catch (e) {
      for (const s of [step, ...done.reverse()]) if (s.rollback) await s.rollback(ctx, report);
      throw e;
    }
  }
}
