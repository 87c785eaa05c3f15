// A node that is gone (Spot eviction, crash, silence) gives nothing back: the control plane puts
// its tasks back on the queue at once, under a new dispatch, instead of waiting for their queue
// messages' leases to run out. The new dispatch id makes any late report from the lost node stale,
// so a task still cannot complete twice; the old messages are refused as stale when they reappear.
// A task whose new message cannot be sent stays with the lost node under its old dispatch: its old
// message comes back when its lease runs out, and a claim of it is granted as a requeue.
import { priorityBand } from '../agent-protocol.js';
import type { AppContext } from './context.js';
import { nodeKey, taskKey, type PoolDoc, type TaskDoc } from './documents.js';
import { activeJobsOfPool } from './autoscale-metrics.js';
import { updateWithRetry } from './etag-retry.js';
import { defect } from './defects.js';
import { newDispatchId, requeued, sendOrPutBack, taskMessage } from './task-lifecycle.js';
import type { TaskMessage } from '../agent-protocol.js';

/**
 * Requeues every task the node holds; returns the ids of the tasks requeued. A failed send does not
 * stop the others: each is tried, and the first failure is raised at the end.
 */
export async function requeueTasksOfLostNode(ctx: AppContext, pool: PoolDoc, nodeId: string): Promise<string[]> {
  const lost = nodeKey(nodeId);
  const heldByLost = (t: TaskDoc) => t.scheduling === 'claimed' && t.state !== 'completed' && !!t.nodeInfo && nodeKey(t.nodeInfo.nodeId) === lost;
  const requeuedIds: string[] = [];
  let failure: unknown;
  if (defect('dead-node-tasks-stuck')) return requeuedIds;
  for (const job of await activeJobsOfPool(ctx, pool.poolId)) {
    const queue = await ctx.queue(job.poolInfo.poolId, priorityBand(job.priority));
    let continuation: string | undefined;
    do {
      const page = await ctx.tasks.query(job.id, { where: { scheduling: 'claimed' }, limit: 1000, continuation });
      for (const { item } of page.items.filter((t) => heldByLost(t.item))) {
        const at = new Date(ctx.now()).toISOString();
        let message: TaskMessage | undefined;
        const marked = await updateWithRetry(ctx.tasks, taskKey(item.taskId), job.id, ({ item: task }) => {
          message = undefined;
          if (!heldByLost(task)) return undefined;
          const back = requeued(task, at);
          const dispatchId = newDispatchId(back);
          const next: TaskDoc = { ...back, dispatchId, nodeInfo: undefined };
          message = taskMessage(job, next, dispatchId, at);
          return next;
        });
        if (!message || !marked?.after) continue;
        try {
          await sendOrPutBack(ctx, queue, message, marked.before.item);
          requeuedIds.push(item.taskId);
        } catch (error) {
          failure ??= error;
        }
      }
      continuation = page.continuation;
    } while (continuation);
  }
  if (failure) throw failure;
  return requeuedIds;
}
