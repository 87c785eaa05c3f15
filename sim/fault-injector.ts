// The faults a scenario allows, injected between steps as the seed decides: each kind with a
// chance per step and a budget per run (host crashes, lost VMs, Spot evictions, agent crashes
// with a reboot), and at most one user cancellation at a step drawn in advance.
import type { Services } from '../shared/app/job-service.js';
import { terminateJob } from '../shared/app/job-service.js';
import { terminateTask } from '../shared/app/task-service.js';
import type { Clock } from '../local-host/contracts.js';
import type { SimAgent } from './models/sim-agent.js';
import type { SimVm } from './models/sim-scale-sets.js';
import type { Prng } from './prng.js';
import type { Scenario } from './scenario.js';

export interface FaultWorld {
  clock: Clock;
  /** Virtual time the run started, for the trace. */
  start: number;
  vms(): Iterable<SimVm>;
  agent(nodeId: string): SimAgent | undefined;
  hostUp(): boolean;
  crashHost(): void;
  /** The node's agent starts again at `at`, if its VM still runs then. */
  rebootAt(nodeId: string, at: number): void;
  /** A user's request to the control plane, answered or not. */
  userCall(what: string, call: (services: Services) => Promise<unknown>): void;
  note(line: string): void;
}

export class FaultInjector {
  private readonly used = { hostCrash: 0, vmFailure: 0, spotEviction: 0, nodeReboot: 0 };
  private cancelAtStep = -1;

  constructor(
    private readonly world: FaultWorld,
    private readonly scenario: Scenario,
    private readonly prng: Prng,
  ) {}

  /** Draws the step of the user's cancellation, if the scenario has one (after setup). */
  planCancel(): void {
    const cancel = this.scenario.faults.cancel;
    if (cancel) this.cancelAtStep = 1 + this.prng.int(cancel.withinSteps);
  }

  /**
   * Whether a VM fault of this kind happens now (within its budget, by its chance per step), and
   * on which of the candidates, drawn from the seed; a fault with no candidate uses no budget.
   */
  private drawVm(kind: 'vmFailure' | 'spotEviction' | 'nodeReboot', candidates: () => SimVm[]): SimVm | undefined {
    const budget = this.scenario.faults[kind];
    if (this.used[kind] >= budget.max || !this.prng.chance(budget.perStep)) return undefined;
    const vms = candidates();
    if (!vms.length) return undefined;
    this.used[kind]++;
    return this.prng.pick(vms);
  }

  /** Faults the seed decides to inject before this step; true if it injected any. */
  inject(stepNo: number): boolean {
    const { world, prng } = this;
    const f = this.scenario.faults;
    let injected = false;
    if (world.hostUp() && this.used.hostCrash < f.hostCrash.max && prng.chance(f.hostCrash.perStep)) {
      this.used.hostCrash++;
      world.crashHost();
      injected = true;
    }
    const runningVms = () => [...world.vms()].filter((vm) => vm.state === 'running' && world.agent(vm.nodeId)?.alive);
    const failing = this.drawVm('vmFailure', runningVms);
    if (failing) {
      injected = true;
      failing.state = 'failed';
      world.agent(failing.nodeId)!.crash();
      world.note(`fault: VM ${failing.nodeId} fails (its agent dies with ${world.agent(failing.nodeId)!.runningSlots} slot(s) busy)`);
    }
    const evicted = this.drawVm('spotEviction', () => runningVms().filter((vm) => vm.priority === 'lowPriority'));
    if (evicted) {
      injected = true;
      evicted.state = 'evicted';
      world.agent(evicted.nodeId)!.crash();
      world.note(`fault: Spot VM ${evicted.nodeId} evicted`);
    }
    const rebooting = this.drawVm('nodeReboot', runningVms);
    if (rebooting) {
      injected = true;
      world.agent(rebooting.nodeId)!.crash();
      const at = world.clock.now() + prng.between(f.nodeReboot.rebootMs[0], f.nodeReboot.rebootMs[1]);
      world.rebootAt(rebooting.nodeId, at);
      world.note(`fault: node ${rebooting.nodeId} crashes; its agent restarts at +${((at - world.start) / 1000).toFixed(3)}s`);
    }
    if (stepNo === this.cancelAtStep) {
      this.cancel();
      injected = true;
    }
    return injected;
  }

  private cancel(): void {
    const kinds = this.scenario.faults.cancel!.kinds;
    const kind = this.prng.pick(kinds);
    const jobs = this.scenario.jobs as { id: string; tasks: { id: string }[] }[];
    const jobId = this.prng.pick(jobs.map((j) => j.id));
    const taskId = this.prng.pick(jobs.find((j) => j.id === jobId)!.tasks).id;
    const what = kind === 'job' ? `terminate job ${jobId}` : `terminate task ${jobId}/${taskId}`;
    this.world.note(`user: ${what}`);
    this.world.userCall(what, (services) => (kind === 'job' ? terminateJob(services, jobId) : terminateTask(services, jobId, taskId)));
  }
}
