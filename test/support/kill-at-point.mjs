// Preloaded into the CLI by the fault-injection e2e tests (NODE_OPTIONS=--import=<this file>): when the
// uninstall action reports reaching KUBECTL_INSIGHT_TEST_KILL_AFTER, the process signals itself
// (SIGKILL, or KUBECTL_INSIGHT_TEST_KILL_SIGNAL), so a test can prove a re-run finishes from any step
// boundary. The product itself has no test hook: it only publishes the points it passes.
import diagnostics from 'node:diagnostics_channel';

const want = process.env.KUBECTL_INSIGHT_TEST_KILL_AFTER;
if (want) {
  const signal = process.env.KUBECTL_INSIGHT_TEST_KILL_SIGNAL ?? 'SIGKILL';
  diagnostics.subscribe('kubectl-insight:uninstall:point', (point) => {
    if (point === want) process.kill(process.pid, signal);
  });
}
