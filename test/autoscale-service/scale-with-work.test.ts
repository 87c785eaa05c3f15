// Autoscale end to end in virtual time: the control plane's real services with memory adapters,
// a model node provider with a provisioning delay, agents modelled by direct calls.
import { describe, expect, it } from 'vitest';
import { AUTOSCALE_DEBOUNCE_MS, autoScaleTick, requestAutoScaleEvaluation } from '../../shared/app/autoscale-service.js';
import { POOL, World } from './support/world.js';

// The pending-tasks formula from Batch's autoscale article ("Example 2: Task-based adjustment").
const PENDING_TASKS_FORMULA = `// Get pending tasks for the past 15 minutes.
$samples = $PendingTasks.GetSamplePercent(TimeInterval_Minute * 15);
$tasks = $samples < 70 ? max(0,$PendingTasks.GetSample(1)) : max( $PendingTasks.GetSample(1), avg($PendingTasks.GetSample(TimeInterval_Minute * 15)));
$targetVMs = $tasks > 0? $tasks:max(0, $TargetDedicatedNodes/2);
$TargetDedicatedNodes = max(0, min($targetVMs, 20));
$NodeDeallocationOption = taskcompletion;`;

function allOnce(world: World, ids: string[]): void {
  const counts = ids.map((id) => world.ledger.completions.get(id) ?? 0);
  expect(counts.filter((c) => c !== 1)).toEqual([]);
}

describe('autoscale with work arriving and draining', () => {
  it('grows an empty pool within one debounce period of a 500-task burst, then shrinks to the floor with no task lost or killed', async () => {
    const world = await World.create({ provisioningMs: 30_000, taskMs: 20_000 });
    await world.createAutoscaledPool(PENDING_TASKS_FORMULA, 'PT1M');
    expect((await world.pool()).targetDedicatedNodes).toBe(0);
    await world.run(10_000);

    const submittedAt = world.clock.now();
    const ids = await world.submitJob('burst', 500);
    await world.run(AUTOSCALE_DEBOUNCE_MS);

    const grown = await world.pool();
    expect(grown.targetDedicatedNodes).toBe(20);
    expect(grown.autoScaleRun?.results).toContain('$TargetDedicatedNodes=20');
    expect(grown.autoScaleRun?.error).toBeUndefined();
    const firstGrowth = world.provider.growCalls.find((c) => c.priority === 'dedicated' && c.capacity === 20);
    expect(firstGrowth).toBeDefined();
    expect(firstGrowth!.at - submittedAt).toBeLessThanOrEqual(AUTOSCALE_DEBOUNCE_MS);

    // 500 tasks of 20 s on 20 nodes: about 500 s of work, then 15 minutes of history to forget.
    await world.run(60 * 60_000, async () => (await world.pool()).targetDedicatedNodes === 0 && world.provider.nodes.size === 0);

    const tasks = await world.tasks('burst');
    expect(tasks.filter((t) => t.state !== 'completed' || t.executionInfo.result !== 'success')).toEqual([]);
    allOnce(world, ids);
    expect(world.ledger.stopped).toEqual([]);
    const drained = await world.pool();
    expect(drained.targetDedicatedNodes).toBe(0);
    expect(drained.currentDedicatedNodes).toBe(0);
    expect(world.provider.nodes.size).toBe(0);
    // The metric history the formula read is in the pool document, bounded to the retention.
    const pending = drained.autoScaleState?.samples.PendingTasks ?? [];
    expect(pending.length).toBeGreaterThan(30);
    expect(pending.length).toBeLessThanOrEqual(121);
    expect(Math.max(...pending.map(([, v]) => v))).toBe(500);
  });

  it('debounces early evaluations: one at once, the next held until the debounce period has passed', async () => {
    const world = await World.create();
    await world.createAutoscaledPool('$TargetDedicatedNodes = min(5, $ActiveTasks);', 'PT15M');
    await world.run(5_000);
    expect(await requestAutoScaleEvaluation(world.ctx, POOL)).toBe('evaluated');
    const first = (await world.pool()).autoScaleRun!.timestamp;
    expect(await requestAutoScaleEvaluation(world.ctx, POOL)).toBe('deferred');
    expect((await world.pool()).autoScaleState?.requestedAt).toBe(world.clock.now());

    world.clock.advance(AUTOSCALE_DEBOUNCE_MS / 2);
    expect((await autoScaleTick(world.ctx)).evaluated).toEqual([]);
    world.clock.advance(AUTOSCALE_DEBOUNCE_MS / 2);
    expect((await autoScaleTick(world.ctx)).evaluated).toEqual([POOL]);
    const pool = await world.pool();
    expect(pool.autoScaleRun!.timestamp).not.toBe(first);
    expect(pool.autoScaleState?.requestedAt).toBeUndefined();
  });

  it('taskcompletion: nodes removed while busy finish their tasks first; none is killed or requeued', async () => {
    const world = await World.create({ provisioningMs: 10_000, taskMs: 60_000 });
    await world.createAutoscaledPool('$TargetDedicatedNodes = $ActiveTasks > 0 ? 10 : 2; $NodeDeallocationOption = taskcompletion;', 'PT1M');
    const ids = await world.submitJob('drain', 30);
    let sawLeavingWhileBusy = false;
    world.onSlice = async (w) => {
      const nodes = (await w.ctx.nodes.query(POOL)).items.map((n) => n.item);
      if (nodes.some((n) => n.state === 'leavingpool' && n.runningTasks.length > 0)) sawLeavingWhileBusy = true;
    };
    await world.run(15 * 60_000, async () => world.ledger.completions.size === 30 && world.provider.nodes.size === 2);
    expect(sawLeavingWhileBusy).toBe(true);
    allOnce(world, ids);
    expect(world.ledger.stopped).toEqual([]);
    const tasks = await world.tasks('drain');
    expect(tasks.every((t) => t.executionInfo.result === 'success' && t.executionInfo.requeueCount === 0)).toBe(true);
    expect(world.provider.nodes.size).toBe(2);
  });

  it('requeue: tasks on removed nodes are handed back and run again elsewhere, each completing once', async () => {
    const world = await World.create({ provisioningMs: 10_000, taskMs: 60_000 });
    await world.createAutoscaledPool('$TargetDedicatedNodes = $ActiveTasks > 0 ? 10 : 2; $NodeDeallocationOption = requeue;', 'PT1M');
    const ids = await world.submitJob('requeue', 30);
    await world.run(20 * 60_000, async () => world.ledger.completions.size === 30);
    allOnce(world, ids);
    expect(world.ledger.stopped.some((s) => s.why === 'release')).toBe(true);
    const tasks = await world.tasks('requeue');
    expect(tasks.every((t) => t.executionInfo.result === 'success')).toBe(true);
    expect(tasks.some((t) => t.executionInfo.requeueCount > 0)).toBe(true);
  });

  it('terminate: tasks on removed nodes are stopped and fail with TaskEnded, without retry', async () => {
    const world = await World.create({ provisioningMs: 10_000, taskMs: 60_000 });
    await world.createAutoscaledPool('$TargetDedicatedNodes = $ActiveTasks > 0 ? 10 : 2; $NodeDeallocationOption = terminate;', 'PT1M');
    const ids = await world.submitJob('term', 30);
    await world.run(20 * 60_000, async () => world.ledger.completions.size === 30);
    allOnce(world, ids);
    const killed = world.ledger.stopped.filter((s) => s.why === 'kill').map((s) => s.taskId);
    expect(killed.length).toBeGreaterThan(0);
    const tasks = await world.tasks('term');
    for (const task of tasks) {
      if (killed.includes(task.taskId)) expect(task.executionInfo.failureInfo?.code).toBe('TaskEnded');
      else expect(task.executionInfo.result).toBe('success');
    }
  });

  it('a newer, smaller target cancels a growth in flight through its AbortSignal', async () => {
    const world = await World.create({ provisioningMs: 120_000 });
    await world.createAutoscaledPool('$TargetDedicatedNodes = 12;', 'PT15M');
    await world.run(3_000);
    expect(world.provider.growCalls).toMatchObject([{ capacity: 12 }]);
    expect(world.provider.nodes.size).toBe(12);

    const { enableAutoScale } = await import('../../shared/app/autoscale-service.js');
    const { reconcilePool } = await import('../../shared/app/pool-service.js');
    await enableAutoScale(world.ctx, POOL, { autoScaleFormula: '$TargetDedicatedNodes = 3;' });
    await reconcilePool(world.ctx, POOL);
    await world.flush();
    expect(world.provider.growCalls[0]!.outcome).toBe('canceled');
    await world.run(150_000);
    expect(world.provider.running().length).toBe(3);
    expect((await world.pool()).currentDedicatedNodes).toBe(3);
  });
});
