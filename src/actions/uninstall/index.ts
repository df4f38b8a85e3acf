/**
 * `uninstall`: the official removal order, made safe to re-run at any point.
 *
 *   discover → plan → 1 custom resources → 2 helm release → 3 workloads gone → 4 CRDs (--purge-crds)
 *   → 5 namespace (--delete-namespace)
 *
 * Each step is its own function, reads the live state again before acting (so a second run after a
 * kill or a lost connection finishes the job), and records one outcome per object: deleted, already
 * gone, or kept and why. Nothing here prints; the command renders the plan and the outcome.
 */
export * from './model.js';
export * from './discover.js';
export * from './plan.js';
export * from './steps.js';
