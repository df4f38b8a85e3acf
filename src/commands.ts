// oclif's explicit command map: one import per command, so the bundle needs no directory scan.
import Bundle from './commands/bundle.js';
import Complete from './commands/complete.js';
import Completion from './commands/completion.js';
import Doctor from './commands/doctor.js';
import Install from './commands/install.js';
import Preflight from './commands/preflight.js';
import Uninstall from './commands/uninstall.js';
import Upgrade from './commands/upgrade.js';
import Verify from './commands/verify.js';
import Version from './commands/version.js';

export const commands = {
  install: Install,
  upgrade: Upgrade,
  uninstall: Uninstall,
  preflight: Preflight,
  doctor: Doctor,
  bundle: Bundle,
  verify: Verify,
  version: Version,
  completion: Completion,
  // Hidden: what the completion scripts call on every TAB.
  __complete: Complete,
};
