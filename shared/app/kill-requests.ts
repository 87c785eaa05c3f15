// Kill requests reach an agent in the answer to its next heartbeat (every ~500 ms), so a
// terminate takes effect within a second without any push channel to the nodes.
import type { AppContext } from './context.js';
import { nodeKey, poolKey, type NodeTaskRef, type TaskDoc } from './documents.js';
import { updateWithRetry } from './etag-retry.js';

export async function requestKill(ctx: AppContext, task: TaskDoc): Promise<void> {
  if (task.scheduling !== 'claimed' || !task.nodeInfo || !task.dispatchId) return;
  const ref: NodeTaskRef = { jobId: task.jobId, taskId: task.taskId, dispatchId: task.dispatchId };
  const pool = poolKey(task.nodeInfo.poolId);
  await updateWithRetry(ctx.nodes, nodeKey(task.nodeInfo.nodeId), pool, ({ item }) => {
    if (item.killRequests.some((k) => k.dispatchId === ref.dispatchId)) return undefined;
    return { ...item, killRequests: [...item.killRequests, ref] };
  });
}

/** Asks the nodes to kill every claimed task of a job. */
export async function requestKillsForJob(ctx: AppContext, jobKey: string): Promise<void> {
  let continuation: string | undefined;
  do {
    const page = await ctx.tasks.query(jobKey, { where: { scheduling: 'claimed' }, limit: 500, continuation });
    await Promise.all(page.items.map((t) => requestKill(ctx, t.item)));
    continuation = page.continuation;
  } while (continuation);
}
