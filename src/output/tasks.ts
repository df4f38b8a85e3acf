import { Listr, type ListrTask } from 'listr2';
import type { Step } from '../actions/steps.js';

export type TaskRenderer = 'default' | 'simple' | 'silent';

/** A live tree on a TTY; plain lines when piped or verbose; nothing on stdout with -o json. */
export function chooseRenderer(opts: { json?: boolean; verbose?: boolean; isTTY?: boolean }): TaskRenderer {
  if (opts.json) return 'silent';
  const tty = opts.isTTY ?? Boolean(process.stdout.isTTY);
  return tty && !opts.verbose && !process.env.CI ? 'default' : 'simple';
}

/** Show an action's steps as a listr2 task tree; rollbacks run when a step fails. */
export async function runStepsWithProgress<C extends object>(steps: Step<C>[], ctx: C, renderer: TaskRenderer, noColor = false): Promise<void> {
  const tasks: ListrTask<C>[] = steps.map((step) => ({
    title: step.title,
    skip: step.skip ? (c: C) => step.skip!(c) : undefined,
    task: async (c, task) => {
      await step.run(c, {
        progress: (m) => {
          task.output = m;
        },
        title: (t) => {
          task.title = t;
        },
      });
    },
    rollback: step.rollback
      ? async (c, task) => {
          await step.rollback!(c, {
            progress: (m) => {
              task.output = m;
            },
            title: (t) => {
              task.title = t;
            },
          });
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
  await list.run();
}
