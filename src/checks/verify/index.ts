/** verify's checks in category order: metrics, entities, then the collector's log (read only when something is missing). */
import type { Check } from '../engine.js';
import { collectorChecks } from './collector.js';
import type { VerifyContext } from './context.js';
import { entityChecks } from './entities.js';
import { metricChecks } from './metrics.js';

export const verifyChecks: Check<VerifyContext>[] = [...metricChecks, ...entityChecks, ...collectorChecks];

export { VerifyContext, type VerifyCluster, type VerifyCloud, type VerifyInput } from './context.js';
