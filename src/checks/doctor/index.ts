/** Doctor's checks in category order: each category reads what the earlier ones loaded. */
import type { Check } from '../engine.js';
import type { DoctorContext } from './context.js';
import { coexistenceChecks } from './coexistence.js';
import { configChecks } from './config.js';
import { crChecks } from './cr.js';
import { exporterChecks } from './exporters.js';
import { kubeletChecks } from './kubelet.js';
import { leftoverChecks } from './leftovers.js';
import { podChecks } from './pods.js';
import { releaseChecks } from './release.js';
import { scrapeChecks } from './scrape.js';

export const doctorChecks: Check<DoctorContext>[] = [...releaseChecks, ...podChecks, ...configChecks, ...exporterChecks, ...scrapeChecks, ...kubeletChecks, ...crChecks, ...coexistenceChecks, ...leftoverChecks];

export { DoctorContext, DEFAULT_OPTIONS, FIX_KINDS, type DoctorOptions, type Fix } from './context.js';
