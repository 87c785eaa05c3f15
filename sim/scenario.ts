// What a scenario sets: the pool and jobs submitted before the run, how tasks behave, and which
// faults the world may inject (each with a chance per step and a budget per run).
import type { TaskMessage } from '../shared/agent-protocol.js';
import type { TaskRunProfile } from './models/sim-agent.js';
import type { QueueFaults } from './models/sim-queues.js';
import type { ScaleSetFaults } from './models/sim-scale-sets.js';
import type { StoreFaults } from './models/sim-store.js';
import type { Prng } from './prng.js';

export interface FaultBudget {
  /** Chance per step. */
  perStep: number;
  /** At most this many per run. */
  max: number;
}

export interface ScenarioFaults {
  hostCrash: FaultBudget & { restartMs: [number, number] };
  /** A VM dies for good; the provider reports it failed and the pool replaces it. */
  vmFailure: FaultBudget;
  spotEviction: FaultBudget;
  /** The agent dies and its VM restarts it (same node id) after a while. */
  nodeReboot: FaultBudget & { rebootMs: [number, number] };
  store: StoreFaults;
  queue: QueueFaults;
  scaleSet: ScaleSetFaults;
  /** One user cancellation at a random step within the first `withinSteps`. */
  cancel?: { kinds: ('job' | 'task')[]; withinSteps: number };
  /** Chance per step that time moves on while work is still in flight (slow calls, GC pauses). */
  timePasses: number;
  /** Chance that an agent's completion report takes effect but its answer is lost, so it reports again. */
  lostResponse?: number;
}

export interface PoolSetup {
  id: string;
  targetDedicatedNodes: number;
  targetLowPriorityNodes: number;
  taskSlotsPerNode: number;
  /** taskSchedulingPolicy.nodeFillType; spread (Batch's default) when absent. */
  nodeFillType?: 'spread' | 'pack';
  /** Autoscaled instead: the formula sets the targets (the two above are ignored). */
  autoScale?: AutoScaleSetup;
}

export interface AutoScaleSetup {
  formula: string;
  /** ISO 8601 duration, e.g. PT1M. */
  interval: string;
  /** Nodes the formula keeps when there is no work, and the most it ever asks for. */
  floorNodes: number;
  maxNodes: number;
  /** How long a correct system may take to grow for pending work, and to shrink when idle. */
  growWithinMs: number;
  shrinkWithinMs: number;
}

export interface Scenario {
  name: string;
  description: string;
  pool: PoolSetup;
  /** Job submissions (the body of POST /jobs, tasks included). */
  jobs: unknown[];
  /** Duration and exit code of one run of a task, drawn from the seed. */
  profile(prng: Prng, task: TaskMessage): TaskRunProfile;
  faults: ScenarioFaults;
  heartbeatMs: number;
  leaseMs: number;
  maxSteps: number;
  /** A job still running this long (virtual time) after the start is a liveness violation. */
  livenessBoundMs: number;
  /** Whether this scenario is expected to pass on correct code (false: it shows a known finding). */
  clean: boolean;
}
