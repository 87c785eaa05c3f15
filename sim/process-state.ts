// In-memory state the app keeps per process. A simulated host crash (and every new iteration)
// must start from none of it, as a restarted Functions host would. The app exports no reset for
// the resize tracker, so the simulator empties its maps itself (see the report for the suggested
// export). Random ids and autoscale formulas' random() come from the seed.
import { resizes } from '../shared/app/autoscale-resize-tracker.js';
import { setRandomFractionSource, setRandomIdSource } from '../shared/app/id-source.js';
import { resetNodeWatch } from '../shared/app/node-service.js';
import type { Prng } from './prng.js';

export function resetProcessState(prng: Prng): void {
  const tracker = resizes as unknown as Record<string, unknown>;
  for (const field of ['growths', 'deletions', 'poolControllers']) {
    const map = tracker[field];
    if (map instanceof Map) map.clear();
  }
  setRandomIdSource(() => prng.uint32().toString(16).padStart(8, '0'));
  setRandomFractionSource(() => prng.float());
  resetNodeWatch();
}

/** No provider call of this process is in flight or waiting for a reconcile pass to report it. */
export function providerCallsIdle(): boolean {
  const tracker = resizes as unknown as Record<string, unknown>;
  return ['growths', 'deletions'].every((field) => {
    const map = tracker[field];
    return map instanceof Map && map.size === 0;
  });
}
