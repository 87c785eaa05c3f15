// The scenarios the simulator runs. Each submits its jobs before the run and sets which faults the
// world may inject. `clean` scenarios must pass on correct code; the others reproduce findings
// in the production code (see the report in bench/README.md).
import type { TaskMessage } from '../shared/agent-protocol.js';
import type { TaskRunProfile } from './models/sim-agent.js';
import { NO_QUEUE_FAULTS } from './models/sim-queues.js';
import type { Prng } from './prng.js';
import type { Scenario, ScenarioFaults } from './scenario.js';

const POOL = 'simpool';

interface TaskBody {
  id: string;
  commandLine: string;
  dependsOn?: { taskIds: string[] };
  constraints?: { maxTaskRetryCount?: number };
}

/**
 * A layered DAG: each task after the first layer depends on one or two tasks of earlier layers,
 * chosen by a fixed rule (not the seed), so every run submits the same job.
 */
export function layeredDag(count: number, width: number): TaskBody[] {
  const id = (i: number) => `t${String(i + 1).padStart(2, '0')}`;
  const tasks: TaskBody[] = [];
  for (let i = 0; i < count; i++) {
    const layer = Math.floor(i / width);
    const task: TaskBody = { id: id(i), commandLine: `/bin/work ${i}` };
    if (layer > 0) {
      const previous = (layer - 1) * width;
      const deps = new Set([id(previous + (i % width)), id(previous + ((i * 7 + 3) % width))]);
      if (layer > 1 && i % 3 === 0) deps.add(id((layer - 2) * width + (i % width)));
      task.dependsOn = { taskIds: [...deps].filter((d) => d !== task.id) };
    }
    tasks.push(task);
  }
  return tasks;
}

function dagJob(id: string, tasks: TaskBody[], extra: Record<string, unknown> = {}): unknown {
  return {
    id,
    poolInfo: { poolId: POOL },
    usesTaskDependencies: true,
    onAllTasksComplete: 'terminatejob',
    constraints: { maxTaskRetryCount: 1 },
    tasks,
    ...extra,
  };
}

/** Mostly short successful runs; some fail (exit 1) and are retried; a few run long. */
function mixedProfile(failure: number): (prng: Prng, task: TaskMessage) => TaskRunProfile {
  return (prng) => ({
    durationMs: prng.chance(0.05) ? prng.between(3_000, 12_000) : prng.between(50, 1_500),
    exitCode: prng.chance(failure) ? 1 : 0,
  });
}

const QUIET: ScenarioFaults = {
  hostCrash: { perStep: 0, max: 0, restartMs: [0, 0] },
  vmFailure: { perStep: 0, max: 0 },
  spotEviction: { perStep: 0, max: 0 },
  nodeReboot: { perStep: 0, max: 0, rebootMs: [0, 0] },
  store: { throttle: 0, unavailable: 0, threads: [] },
  queue: NO_QUEUE_FAULTS,
  scaleSet: { callFailure: 0, bootMs: [500, 2000] },
  timePasses: 0.02,
};

const FAULTY: ScenarioFaults = {
  ...QUIET,
  vmFailure: { perStep: 0.002, max: 1 },
  spotEviction: { perStep: 0.002, max: 1 },
  store: { throttle: 0.01, unavailable: 0.01, threads: ['http', 'timer'] },
  queue: { duplicate: 0.05, delay: 0.05, maxDelayMs: 3000 },
  scaleSet: { callFailure: 0.05, bootMs: [1000, 5000] },
  timePasses: 0.03,
  lostResponse: 0.05,
};

const BASE = {
  pool: { id: POOL, targetDedicatedNodes: 2, targetLowPriorityNodes: 1, taskSlotsPerNode: 2 },
  heartbeatMs: 2000,
  leaseMs: 30_000,
  maxSteps: 20_000,
  livenessBoundMs: 20 * 60_000,
  clean: true,
};

/**
 * Batch's task-based formula, sized for a small pool: a dedicated node always, a second one and
 * then Spot nodes as tasks wait, all of them back to the floor once the work is done.
 */
const PENDING_TASKS_FORMULA = `$pending = max($PendingTasks.GetSample(1));
$TargetDedicatedNodes = max(1, min(2, $pending));
$TargetLowPriorityNodes = min(2, max(0, $pending - 2));
$NodeDeallocationOption = taskcompletion;`;

export const SCENARIOS: Record<string, Scenario> = {
  'dag-faults': {
    ...BASE,
    name: 'dag-faults',
    description: 'a 20-task DAG job on 3 nodes (one Spot) with VM failure, Spot eviction, duplicate and delayed messages, 429/503 on requests, failing scale-set calls and task failures with retries',
    jobs: [dagJob('dag', layeredDag(20, 5))],
    profile: mixedProfile(0.15),
    faults: FAULTY,
  },
  'cancel-race': {
    ...BASE,
    name: 'cancel-race',
    description: 'an 8-task DAG; at a random step the user terminates the job or one of its tasks, racing dispatch, claims and completions',
    jobs: [dagJob('cancel', layeredDag(8, 3))],
    profile: mixedProfile(0.1),
    faults: { ...QUIET, queue: { duplicate: 0.05, delay: 0.05, maxDelayMs: 2000 }, cancel: { kinds: ['job', 'task', 'task'], withinSteps: 250 } },
  },
  'host-crashes': {
    ...BASE,
    name: 'host-crashes',
    description: 'a 10-task DAG while the host crashes twice, briefly (state recovered from the Durable journal and the store), with duplicate messages',
    jobs: [dagJob('crashy', layeredDag(10, 4))],
    profile: mixedProfile(0),
    faults: { ...QUIET, hostCrash: { perStep: 0.02, max: 2, restartMs: [0, 3000] }, queue: { duplicate: 0.05, delay: 0, maxDelayMs: 1000 } },
  },
  'two-jobs': {
    ...BASE,
    name: 'two-jobs',
    description: 'two jobs of different priority sharing a pool of one-slot nodes, with message duplicates and delays',
    pool: { ...BASE.pool, targetDedicatedNodes: 2, targetLowPriorityNodes: 0, taskSlotsPerNode: 1 },
    jobs: [dagJob('high', layeredDag(6, 3), { priority: 500 }), dagJob('low', layeredDag(6, 2), { priority: -500 })],
    profile: mixedProfile(0.1),
    faults: { ...QUIET, queue: { duplicate: 0.1, delay: 0.1, maxDelayMs: 3000 } },
  },
  'node-reboot': {
    ...BASE,
    name: 'node-reboot',
    description: 'an agent crashes and its VM restarts it under the same node id within the lease (found a lost task; fixed: a claim may take over from a holder that rebooted since claiming)',
    jobs: [dagJob('reboot', layeredDag(6, 3))],
    profile: mixedProfile(0),
    faults: { ...QUIET, nodeReboot: { perStep: 0.01, max: 1, rebootMs: [1000, 5000] } },
    clean: true,
  },
  'crash-during-node-loss': {
    ...BASE,
    name: 'crash-during-node-loss',
    description: "VMs fail while the host crashes often (found a task lost between requeueing it and sending its message; fixed: the job watchdog re-sends a queued task's message when its queue is empty)",
    jobs: [dagJob('nodeloss', layeredDag(8, 4))],
    profile: (prng) => ({ durationMs: prng.between(5_000, 20_000), exitCode: 0 }),
    faults: { ...QUIET, vmFailure: { perStep: 0.01, max: 2 }, hostCrash: { perStep: 0.05, max: 6, restartMs: [0, 2000] } },
    clean: true,
  },
  'crash-during-retry': {
    ...BASE,
    name: 'crash-during-retry',
    description: 'tasks fail and are retried while the host crashes (found a retry lost between its write and its message; fixed by the job watchdog)',
    jobs: [dagJob('retries', layeredDag(8, 4), { constraints: { maxTaskRetryCount: 3 } })],
    profile: mixedProfile(0.5),
    faults: { ...QUIET, hostCrash: { perStep: 0.03, max: 6, restartMs: [0, 2000] } },
    clean: true,
  },
  'control-plane-outage': {
    ...BASE,
    name: 'control-plane-outage',
    description: 'the host is down for more than 10 s (found healthy nodes written off and a lost completion notice; fixed: silence counts from host start, and the watchdog reads ends from the store)',
    jobs: [dagJob('outage', layeredDag(10, 4))],
    profile: mixedProfile(0),
    faults: { ...QUIET, hostCrash: { perStep: 0.03, max: 6, restartMs: [3000, 6000] } },
    clean: true,
  },
  'throttled-activities': {
    ...BASE,
    name: 'throttled-activities',
    description: '429/503 reach the activities too (found one failed activity failing the job; fixed: every job activity has retry options)',
    jobs: [dagJob('throttled', layeredDag(6, 3))],
    profile: mixedProfile(0),
    faults: { ...QUIET, store: { throttle: 0.01, unavailable: 0.01, threads: ['activity', 'http', 'timer'] } },
    clean: true,
  },
  'pack-under-faults': {
    ...BASE,
    name: 'pack-under-faults',
    description: 'a 12-task DAG on a pack pool (nodes hold back from new work while a busier node has room) while VMs fail, a Spot node is evicted and the host crashes, with duplicate and delayed messages',
    pool: { ...BASE.pool, nodeFillType: 'pack' },
    jobs: [dagJob('packed', layeredDag(12, 4))],
    profile: mixedProfile(0.1),
    faults: {
      ...QUIET,
      vmFailure: { perStep: 0.005, max: 1 },
      spotEviction: { perStep: 0.005, max: 1 },
      hostCrash: { perStep: 0.01, max: 2, restartMs: [0, 3000] },
      queue: { duplicate: 0.05, delay: 0.05, maxDelayMs: 2000 },
    },
    clean: true,
  },
  'autoscale-under-load': {
    ...BASE,
    name: 'autoscale-under-load',
    description:
      'a 12-task DAG on an autoscaled pool (floor 1 dedicated node, up to 2 dedicated and 2 Spot) with Spot evictions, a VM failure, failing scale-set calls and duplicate messages; the pool must grow while work is pending and shrink back to its floor once it is done',
    pool: {
      ...BASE.pool,
      targetDedicatedNodes: 0,
      targetLowPriorityNodes: 0,
      autoScale: { formula: PENDING_TASKS_FORMULA, interval: 'PT1M', floorNodes: 1, maxNodes: 4, growWithinMs: 3 * 60_000, shrinkWithinMs: 3 * 60_000 },
    },
    jobs: [dagJob('scaled', layeredDag(12, 4))],
    profile: mixedProfile(0.1),
    faults: {
      ...QUIET,
      vmFailure: { perStep: 0.002, max: 1 },
      spotEviction: { perStep: 0.004, max: 2 },
      scaleSet: { callFailure: 0.1, bootMs: [1000, 5000] },
      queue: { duplicate: 0.05, delay: 0.05, maxDelayMs: 2000 },
    },
  },
};

export const CLEAN_SCENARIOS = Object.values(SCENARIOS).filter((s) => s.clean).map((s) => s.name);

export function scenarioNamed(name: string): Scenario {
  const scenario = SCENARIOS[name];
  if (!scenario) throw new Error(`unknown scenario '${name}'; known: ${Object.keys(SCENARIOS).join(', ')}`);
  return scenario;
}
