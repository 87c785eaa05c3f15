// A job's task dependency graph, built from dependsOn.taskIds and dependsOn.taskIdRanges, and
// grown as tasks are added (new tasks may depend on existing ones, never the reverse).
//
// Batch's rules, from "Create task dependencies to run tasks that depend on other tasks":
// - taskIds: every listed task must satisfy the dependency. fnbatch requires each listed id to
//   exist (in the job or in the same request) and reports TaskDependencyNotFound otherwise.
// - taskIdRanges: only ids that are integers are selected ("5flamingoes" never is); leading zeros
//   are not significant, so "4", "04" and "004" are all task 4 and the first of them to complete
//   satisfies the dependency; every value in the range that has a task must be satisfied.
//   A range that selects no task is not an error (Batch documents none); it adds no dependency.
// - A range is resolved against the tasks that exist when the dependent is added (including the
//   ones added in the same request). Later tasks whose ids fall in the range do not join it,
//   because an existing task must never gain a dependency.
//
// Representation: each dependent owns "requirements". A requirement is a set of member tasks and
// is met when any member satisfies it (only a range value with several leading-zero spellings has
// more than one member). For cycle detection a requirement counts as depending on all its members.

import { invalidPropertyValue, taskDependencyCycle, taskDependencyNotFound, taskExists, taskNotFound } from './errors.js';
import { batchIdProblem, idKey, integerTaskIdValue, type ExistingTaskIds } from './ids.js';
import { findCycle, IntegerIdIndex, topologicalOrder } from './graph.js';
import type { TaskIdRange } from './model.js';
import { runToEnd } from './steps.js';

/** TaskDag.ofInSteps pauses after each this many tasks of a phase. */
export const DAG_STEP = 1_000;

export interface DagTaskInput {
  id: string;
  dependsOn?: { taskIds?: readonly string[]; taskIdRanges?: readonly TaskIdRange[] };
}

export class TaskDag implements ExistingTaskIds {
  private readonly ids: string[] = [];
  private readonly nodeByKey = new Map<string, number>();
  private integerIds = new IntegerIdIndex();
  private readonly requirementsOfNode: number[][] = [];
  private readonly requirementsWithMemberNode: number[][] = [];
  private readonly membersOfRequirement: number[][] = [];
  private readonly dependentOfRequirement: number[] = [];
  private readonly order: number[] = [];

  /** A DAG of `tasks`, validated as a whole; throws BatchError on a cycle or unknown dependency. */
  static of(tasks: readonly DagTaskInput[]): TaskDag {
    const dag = new TaskDag();
    runToEnd(dag.addTasksInSteps(tasks));
    return dag;
  }

  /**
   * TaskDag.of in steps: yields after every DAG_STEP tasks of its long phases, so a caller can let
   * other work run while a large job's DAG is built (100,000 tasks take a few hundred ms). Fewer
   * tasks never pause. The DAG is nobody else's until it is returned.
   */
  static *ofInSteps(tasks: readonly DagTaskInput[]): Generator<void, TaskDag> {
    const dag = new TaskDag();
    yield* dag.addTasksInSteps(tasks);
    return dag;
  }

  get size(): number {
    return this.ids.length;
  }

  has(id: string): boolean {
    return this.nodeByKey.has(idKey(id));
  }

  nodeOf(id: string): number | undefined {
    return this.nodeByKey.get(idKey(id));
  }

  idOf(node: number): string {
    const id = this.ids[node];
    if (id === undefined) throw new RangeError(`No task at node ${node}`);
    return id;
  }

  /**
   * Adds tasks that may depend on existing tasks and on each other. All-or-nothing: on any problem
   * it throws a BatchError and the DAG is unchanged. Cost: O(added tasks + their dependencies),
   * plus O(tasks in the job) when a range must see newly added integer ids.
   */
  addTasks(tasks: readonly DagTaskInput[]): void {
    runToEnd(this.addTasksInSteps(tasks));
  }

  /**
   * addTasks in steps, yielding after every DAG_STEP tasks of its long phases. Only ofInSteps
   * pauses it, on a DAG no one else holds yet; addTasks runs it straight through.
   */
  private *addTasksInSteps(tasks: readonly DagTaskInput[]): Generator<void, void> {
    const base = this.ids.length;
    const addedKeys: string[] = [];
    const pause = (offset: number) => offset % DAG_STEP === DAG_STEP - 1;
    try {
      for (let offset = 0; offset < tasks.length; offset++) {
        if (pause(offset)) yield;
        const task = tasks[offset]!;
        const problem = batchIdProblem(task.id);
        if (problem) throw invalidPropertyValue(`[${offset}].id`, task.id, problem);
        const key = idKey(task.id);
        if (this.nodeByKey.has(key)) throw taskExists(task.id);
        this.nodeByKey.set(key, base + offset);
        addedKeys.push(key);
      }
      tasks.forEach((task, offset) => {
        const value = integerTaskIdValue(task.id);
        if (value !== undefined) this.integerIds.add(value, base + offset);
      });

      const newRequirements: number[][][] = new Array(tasks.length);
      const localDependencies: number[][] = new Array(tasks.length);
      for (let offset = 0; offset < tasks.length; offset++) {
        if (pause(offset)) yield;
        const requirements = (newRequirements[offset] = this.resolveRequirements(tasks[offset]!, offset));
        const local = new Set<number>();
        for (const members of requirements) for (const member of members) if (member >= base) local.add(member - base);
        localDependencies[offset] = [...local];
      }
      const cycle = findCycle(tasks.length, (local) => localDependencies[local]!);
      if (cycle) throw taskDependencyCycle(cycle.map((local) => tasks[local]!.id));
      const localOrder = topologicalOrder(tasks.length, (local) => localDependencies[local]!)!;

      for (const task of tasks) {
        this.ids.push(task.id);
        this.requirementsOfNode.push([]);
        this.requirementsWithMemberNode.push([]);
      }
      newRequirements.forEach((requirements, offset) => {
        for (const members of requirements) {
          const requirement = this.membersOfRequirement.length;
          this.membersOfRequirement.push(members);
          this.dependentOfRequirement.push(base + offset);
          this.requirementsOfNode[base + offset]!.push(requirement);
          for (const member of members) this.requirementsWithMemberNode[member]!.push(requirement);
        }
      });
      for (const local of localOrder) this.order.push(base + local);
    } catch (error) {
      for (const key of addedKeys) this.nodeByKey.delete(key);
      this.rebuildIntegerIndex();
      throw error;
    }
  }

  private resolveRequirements(task: DagTaskInput, offset: number): number[][] {
    const requirements: number[][] = [];
    const explicit = new Set<number>();
    (task.dependsOn?.taskIds ?? []).forEach((dependencyId, position) => {
      const node = typeof dependencyId === 'string' ? this.nodeByKey.get(idKey(dependencyId)) : undefined;
      if (node === undefined) {
        throw taskDependencyNotFound(task.id, String(dependencyId), `[${offset}].dependsOn.taskIds[${position}]`);
      }
      if (!explicit.has(node)) {
        explicit.add(node);
        requirements.push([node]);
      }
    });
    const rangeValues = new Set<number>();
    (task.dependsOn?.taskIdRanges ?? []).forEach((range, position) => {
      if (!Number.isInteger(range.start) || !Number.isInteger(range.end) || range.start > range.end) {
        throw invalidPropertyValue(`[${offset}].dependsOn.taskIdRanges[${position}]`, range, 'start and end must be integers with start <= end');
      }
      for (const { value, nodes } of this.integerIds.valuesInRange(range.start, range.end)) {
        if (rangeValues.has(value)) continue;
        rangeValues.add(value);
        requirements.push([...nodes]);
      }
    });
    return requirements;
  }

  private rebuildIntegerIndex(): void {
    this.integerIds = new IntegerIdIndex();
    this.ids.forEach((id, node) => {
      const value = integerTaskIdValue(id);
      if (value !== undefined) this.integerIds.add(value, node);
    });
  }

  /** Nodes, every node after all the nodes it depends on; newly added nodes are appended. */
  topologicalNodes(): readonly number[] {
    return this.order;
  }

  /** Task ids, every task after all the tasks it depends on. */
  topologicalOrder(): string[] {
    return this.order.map((node) => this.ids[node]!);
  }

  /** The distinct tasks `id` depends on (explicitly or through a range). */
  dependenciesOf(id: string): string[] {
    const node = this.requireNode(id);
    const out = new Set<number>();
    for (const requirement of this.requirementsOfNode[node]!) for (const member of this.membersOfRequirement[requirement]!) out.add(member);
    return [...out].map((member) => this.ids[member]!);
  }

  /** The distinct tasks that depend on `id`. */
  dependentsOf(id: string): string[] {
    const node = this.requireNode(id);
    const out = new Set<number>();
    for (const requirement of this.requirementsWithMemberNode[node]!) out.add(this.dependentOfRequirement[requirement]!);
    return [...out].map((dependent) => this.ids[dependent]!);
  }

  // Low-level accessors for the run state in dependency-outcome.ts.

  requirementCount(): number {
    return this.membersOfRequirement.length;
  }

  requirementsOf(node: number): readonly number[] {
    return this.requirementsOfNode[node]!;
  }

  requirementsWithMember(node: number): readonly number[] {
    return this.requirementsWithMemberNode[node]!;
  }

  membersOf(requirement: number): readonly number[] {
    return this.membersOfRequirement[requirement]!;
  }

  dependentOf(requirement: number): number {
    return this.dependentOfRequirement[requirement]!;
  }

  private requireNode(id: string): number {
    const node = this.nodeOf(id);
    if (node === undefined) throw taskNotFound(id);
    return node;
  }
}
