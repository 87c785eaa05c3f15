// Spot evictions, silent nodes and formula errors, in virtual time.
import { describe, expect, it } from 'vitest';
import { POOL, World } from './support/world.js';

/** A small seeded generator, so a failing run can be repeated. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

describe('lost nodes', () => {
  it('with Spot evictions injected every 15 s, every task still completes exactly once and evicted nodes are replaced', async () => {
    const world = await World.create({ provisioningMs: 10_000, taskMs: 10_000 });
    await world.createAutoscaledPool('$TargetLowPriorityNodes = min(8, $PendingTasks); $NodeDeallocationOption = taskcompletion;', 'PT1M');
    const ids = await world.submitJob('spot', 120);
    const random = seeded(42);
    const evicted: string[] = [];
    let preemptedSeen = 0;
    world.onSlice = async (w) => {
      const pool = await w.pool();
      preemptedSeen = Math.max(preemptedSeen, ...(pool.autoScaleState?.samples.PreemptedNodeCount ?? []).map(([, v]) => v));
      if ((w.clock.now() / 1000) % 15 !== 0) return;
      const running = w.provider.running().filter((n) => n.priority === 'lowPriority');
      if (!running.length) return;
      const victim = running[Math.floor(random() * running.length)]!;
      w.provider.evict(victim.nodeId);
      evicted.push(victim.nodeId);
    };
    await world.run(30 * 60_000, async () => world.ledger.completions.size === 120);

    expect(evicted.length).toBeGreaterThan(5);
    // Evicted nodes lost running work, which ran again elsewhere and completed once.
    expect(world.ledger.stopped.some((s) => s.why === 'lost')).toBe(true);
    const counts = ids.map((id) => world.ledger.completions.get(id) ?? 0);
    expect(counts.filter((c) => c !== 1)).toEqual([]);
    const tasks = await world.tasks('spot');
    expect(tasks.every((t) => t.state === 'completed' && t.executionInfo.result === 'success')).toBe(true);
    expect(tasks.some((t) => t.executionInfo.requeueCount > 0)).toBe(true);
    // Preempted nodes were visible to formulas, and the pool asked for replacements after evictions.
    expect(preemptedSeen).toBeGreaterThan(0);
    const nodeDocs = (await world.ctx.nodes.query(POOL)).items.map((n) => n.item);
    expect(nodeDocs.some((n) => n.state === 'preempted')).toBe(true);
    const lastEvictionAt = Math.max(...world.provider.growCalls.map((c) => c.at));
    expect(world.provider.growCalls.length).toBeGreaterThan(evicted.length / 2);
    expect(lastEvictionAt).toBeGreaterThan(world.provider.growCalls[0]!.at);
  });

  it('a node that stops heartbeating becomes unusable, its task runs elsewhere, and its late report is refused', async () => {
    const world = await World.create({ provisioningMs: 5_000, taskMs: 60_000 });
    await world.createAutoscaledPool('$TargetDedicatedNodes = 2;', 'PT15M');
    await world.run(10_000);
    const ids = await world.submitJob('silent', 1);
    await world.run(3_000);
    const holder = [...world.agents.values()].find((a) => a.held.size === 1)!;
    expect(holder).toBeDefined();
    holder.frozen = true;
    const held = [...holder.held.values()][0]!;

    await world.run(20_000);
    const frozenDoc = (await world.ctx.nodes.read(holder.nodeId.toLowerCase(), POOL))?.item;
    expect(frozenDoc?.state).toBe('unusable');
    const task = (await world.tasks('silent'))[0]!;
    expect(task.executionInfo.requeueCount).toBe(1);
    expect(task.nodeInfo?.nodeId).not.toBe(holder.nodeId);
    // The instance was deleted and a replacement asked for, so the pool is back at two nodes.
    expect(world.provider.nodes.has(holder.nodeId)).toBe(false);

    // The frozen node wakes up and reports the end of the task it no longer owns.
    holder.frozen = false;
    await holder.complete(held, 0);
    expect(world.ledger.refused).toEqual([{ taskId: 't0000', nodeId: holder.nodeId }]);

    await world.run(120_000, async () => world.ledger.completions.size === 1);
    expect(ids.map((id) => world.ledger.completions.get(id))).toEqual([1]);
    expect(world.provider.running().length).toBe(2);
  });

  it('a runtime error in a timed evaluation goes into autoScaleRun.error and the pool keeps its size', async () => {
    const world = await World.create({ provisioningMs: 5_000 });
    await world.createAutoscaledPool('$TargetDedicatedNodes = 3;', 'PT1M');
    await world.run(10_000);
    expect((await world.pool()).currentDedicatedNodes).toBe(3);

    const { enableAutoScale } = await import('../../shared/app/autoscale-service.js');
    // Needs 90% of 10 minutes of samples, which a young pool does not have.
    await enableAutoScale(world.ctx, POOL, {
      autoScaleFormula: 'busy = $CPUPercent.GetSample(TimeInterval_Minute * 10, 90);\n$TargetDedicatedNodes = 10;',
    });
    await world.run(20_000);
    const pool = await world.pool();
    expect(pool.autoScaleRun?.error?.code).toBe('AutoScalingFormulaEvaluationError');
    expect(pool.autoScaleRun?.error?.values).toEqual(expect.arrayContaining([{ name: 'Line', value: '1' }]));
    expect(pool.autoScaleRun?.error?.message).toMatch(/line 1, column \d+: .*samples/);
    expect(pool.targetDedicatedNodes).toBe(3);
    expect(world.provider.nodes.size).toBe(3);
  });
});
