import chalk from 'chalk';
import { Listr, type ListrTask } from 'listr2';
import { silentReporter, StepRunner, type Step, type StepReporter } from '../actions/steps.js';

export type TaskRenderer = 'default' | 'simple' | 'silent';

/** A live tree on a TTY; plain lines when piped or verbose; nothing on stdout with -o json. */
export function chooseRenderer(opts: { json?: boolean; verbose?: boolean; isTTY?: boolean }): TaskRenderer {
  if (opts.json) return 'silent';
  const tty = opts.isTTY ?? Boolean(process.stdout.isTTY);
  return tty && !opts.verbose && !process.env.CI ? 'default' : 'simple';
}

/**
 * Show an action's steps as a listr2 task tree. The steps run, and roll back, through the same
 * `StepRunner` as `runSteps`: listr only renders (the rollback under the task that failed).
 */
export async function runStepsWithProgress<C extends object>(steps: Step<C>[], ctx: C, renderer: TaskRenderer, noColor = false): Promise<void> {
  const runner = new StepRunner(steps, ctx);
  // The plain-line renderer would print a failure twice (its "✖ step [FAILED: why]" and our Error line):
  // listr gets an empty error, the line is ours, and the real error is what the command reports.
  let failure: unknown;
  const reporter = (task: { output: string | undefined; title: string | undefined }, dedupe: boolean): StepReporter => {
    // A step's poll that reports the same progress again prints nothing new; a rollback's lines all show.
    let last: string | undefined;
    return {
      progress: (m) => {
        if (dedupe && m === last) return;
        last = m;
        task.output = m;
      },
      title: (t) => {
        task.title = t;
      },
    };
  };
  const tasks: ListrTask<C>[] = steps.map((step) => ({
    title: step.title,
    skip: step.skip ? (c: C) => step.skip!(c) : undefined,
    task: async (_c, task) => {
      try {
        await runner.run(step, reporter(task, true));
      } catch (e) {
        failure = e;
        if (renderer !== 'simple') throw e;
        process.stdout.write(`${noColor ? '✖' : chalk.red('✖')} ${task.title}\n`);
        throw new Error('');
      }
    },
    rollback: runner.mayRollBack(step)
      ? async (_c, task) => {
          // Never throws: a failed rollback is reported with the step's error below.
          await runner.rollback(reporter(task, false));
        }
      : undefined,
  }));
  const list = new Listr<C, TaskRenderer, 'simple'>(tasks, {
    ctx,
    concurrent: false,
    exitOnError: true,
    registerSignalListeners: false, // our own handler (src/cleanup.ts) owns SIGINT
    renderer,
    fallbackRenderer: 'simple',
    rendererOptions: { collapseSubtasks: false, showErrorMessage: false },
    fallbackRendererOptions: {},
    ...(noColor ? { forceColor: false } : {}),
  });
  try {
    await list.run();
  } catch (e) {
    if (failure === undefined) throw e;
    // The rollback ran under the failing task already (or had nothing to do): this only collects its errors.
    throw await runner.failure(failure, silentReporter);
  }
}
