// Every second: evaluate autoscaled pools whose interval is up or whose early evaluation (asked
// for by new work) has waited out its debounce, record metric samples every 30 s, and start
// moving each evaluated pool toward its new targets.
import { app } from '@azure/functions';
import { appContext } from '../shared/app/context.js';
import { autoScaleTick } from '../shared/app/autoscale-service.js';
import { reconcilePool } from '../shared/app/pool-service.js';

app.timer('poolAutoScale', {
  schedule: '*/1 * * * * *',
  runOnStartup: true,
  handler: async (_timer, context) => {
    const ctx = await appContext();
    const outcome = await autoScaleTick(ctx, (poolId) =>
      reconcilePool(ctx, poolId).catch((err) => context.warn(`reconcile ${poolId}: ${(err as Error).message}`)),
    );
    for (const failure of outcome.failed) context.error(`Autoscale of pool ${failure.poolId}: ${failure.error}`);
  },
});
