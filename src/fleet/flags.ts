/**
 * The flags of fleet mode (doctor, preflight, version): which contexts, how many at once, how long each.
 * --context itself is the shared flag, repeatable (see base-command.ts).
 */
import * as Flags from '@oclif/core/flags';
import { durationFlag } from '../duration.js';

/** `defaultTimeout` differs per command: preflight's probe pods take longer than doctor's reads. */
export function fleetFlags(defaultTimeout: string) {
  return {
    'all-contexts': Flags.boolean({ summary: 'Every context of the merged kubeconfig (fleet mode).', default: false, exclusive: ['context', 'contexts-file'], helpGroup: 'FLEET' }),
    'contexts-file': Flags.string({ summary: 'File with one context a line, optionally followed by its namespace and release (fleet mode; see docs/fleet.md).', helpGroup: 'FLEET' }),
    parallel: Flags.integer({ summary: 'Contexts checked at once in fleet mode.', default: 10, min: 1, max: 64, helpGroup: 'FLEET' }),
    'context-timeout': durationFlag({ summary: 'In fleet mode, a context not done after this long is reported as timed out', default: defaultTimeout, min: 1000, helpGroup: 'FLEET' }),
    summary: Flags.boolean({ summary: 'In fleet mode, print the summary table only (JSON: each context without its report).', default: false, helpGroup: 'FLEET' }),
  };
}
