// Every few seconds: nodes that stopped heartbeating become unusable (their tasks requeued, their
// instances replaced), and every pool moves toward its targets. The autoscale timer lives beside
// this one (functions/autoscale.ts).
import { app } from '@azure/functions';
import { appContext } from '../shared/app/context.js';
import { markSilentNodes } from '../shared/app/node-service.js';
import { handleSilentNodes, listPools, reconcilePool } from '../shared/app/pool-service.js';
import './autoscale.js';

app.timer('poolMaintenance', {
  schedule: '*/2 * * * * *',
  runOnStartup: true,
  handler: async (_timer, context) => {
    const ctx = await appContext();
    for (const pool of await listPools(ctx)) {
      try {
        const silent = await markSilentNodes(ctx, pool.item.poolId);
        if (silent.length) {
          context.warn(`Pool ${pool.item.poolId}: nodes ${silent.join(', ')} stopped heartbeating and are unusable; their tasks are requeued.`);
          await handleSilentNodes(ctx, pool.item.poolId, silent);
        }
        await reconcilePool(ctx, pool.item.poolId);
      } catch (err) {
        context.error(`Pool ${pool.item.poolId}: ${(err as Error).message}`);
      }
    }
  },
});
