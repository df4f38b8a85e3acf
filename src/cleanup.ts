/**
 * Synchronous clean-up hooks that run on every exit path: normal exit, an error, and Ctrl-C/SIGTERM.
 * Only synchronous work belongs here (removing a temp file); async clean-up (deleting probe pods) is
 * done by the owner in a finally block and registered here only as a best-effort fallback.
 */
const hooks = new Set<() => void>();
let installed = false;

function runAll(): void {
  for (const h of [...hooks]) {
    hooks.delete(h);
    try {
      h();
    } catch {
      // A failed clean-up must not hide the others or the original error.
    }
  }
}

/** Ctrl-C, SIGTERM and SIGHUP exit with 130/143/129 after the hooks, whatever runs (called at start). */
export function installExitHandlers(): void {
  install();
}

function install(): void {
  if (installed) return;
  installed = true;
  process.once('exit', runAll);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      runAll();
      process.exit(sig === 'SIGINT' ? 130 : 128 + (sig === 'SIGTERM' ? 15 : 1));
    });
  }
}

/** Register `fn`; returns a function that runs it now (once) and unregisters it. */
export function onExit(fn: () => void): () => void {
  install();
  hooks.add(fn);
  return () => {
    if (hooks.delete(fn)) fn();
  };
}
