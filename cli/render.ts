// How pools, nodes, jobs, tasks and errors look in the terminal.
import type { Resource, TaskCounts } from './batch-client.js';
import { ServiceError } from './batch-client.js';
import { renderFields, renderTable } from './table.js';

type Obj = Record<string, unknown>;

const str = (v: unknown): string => (v === undefined || v === null ? '' : String(v));
const obj = (v: unknown): Obj => (v && typeof v === 'object' ? (v as Obj) : {});

export function poolTable(pools: readonly Resource[]): string {
  return renderTable(
    ['ID', 'STATE', 'ALLOCATION', 'VM SIZE', 'DEDICATED', 'LOW PRIORITY', 'SLOTS/NODE'],
    pools.map((p) => [
      p.id,
      str(p.state),
      str(p.allocationState),
      str(p.vmSize),
      `${str(p.currentDedicatedNodes)}/${str(p.targetDedicatedNodes)}`,
      `${str(p.currentLowPriorityNodes)}/${str(p.targetLowPriorityNodes)}`,
      str(p.taskSlotsPerNode),
    ]),
  );
}

export function poolDetails(p: Resource): string {
  const resizeErrors = Array.isArray(p.resizeErrors)
    ? (p.resizeErrors as Obj[]).map((e) => `${str(e.code)}: ${str(e.message)}`).join('; ')
    : undefined;
  const startTask = obj(p.startTask).commandLine;
  return renderFields([
    ['id', p.id],
    ['state', str(p.state)],
    ['allocation state', str(p.allocationState)],
    ['vm size', str(p.vmSize)],
    ['dedicated nodes', `${str(p.currentDedicatedNodes)} (target ${str(p.targetDedicatedNodes)})`],
    ['low-priority nodes', `${str(p.currentLowPriorityNodes)} (target ${str(p.targetLowPriorityNodes)})`],
    ['task slots per node', str(p.taskSlotsPerNode)],
    ['node fill type', obj(p.taskSchedulingPolicy).nodeFillType === undefined ? undefined : str(obj(p.taskSchedulingPolicy).nodeFillType)],
    ['start task', startTask === undefined ? undefined : str(startTask)],
    ['autoscale formula', p.enableAutoScale ? str(p.autoScaleFormula) : undefined],
    ['resize errors', resizeErrors],
    ['created', str(p.creationTime)],
  ]);
}

export function nodeTable(nodes: readonly Resource[]): string {
  return renderTable(
    ['ID', 'STATE', 'PRIORITY', 'RUNNING TASKS', 'SLOTS USED'],
    nodes.map((n) => [
      n.id,
      str(n.state),
      n.isDedicated === false ? 'low priority' : 'dedicated',
      str(n.runningTasksCount ?? 0),
      `${str(n.runningTaskSlotsCount ?? 0)}/${str(n.taskSlots)}`,
    ]),
  );
}

export function jobTable(jobs: readonly Resource[]): string {
  return renderTable(
    ['ID', 'STATE', 'POOL', 'PRIORITY', 'CREATED'],
    jobs.map((j) => [j.id, str(j.state), str(obj(j.poolInfo).poolId), str(j.priority), str(j.creationTime)]),
  );
}

export function jobDetails(j: Resource, counts?: TaskCounts): string {
  const info = obj(j.executionInfo);
  return renderFields([
    ['id', j.id],
    ['state', str(j.state)],
    ['pool', str(obj(j.poolInfo).poolId)],
    ['priority', str(j.priority)],
    ['on all tasks complete', str(j.onAllTasksComplete)],
    ['created', str(j.creationTime)],
    ['ended', info.endTime === undefined ? undefined : str(info.endTime)],
    ['terminate reason', info.terminateReason === undefined ? undefined : str(info.terminateReason)],
    ['tasks', counts ? countsText(counts) : undefined],
  ]);
}

export function countsText(c: TaskCounts): string {
  return `${c.active} active, ${c.running} running, ${c.succeeded} succeeded, ${c.failed} failed`;
}

export function taskTable(tasks: readonly Resource[]): string {
  return renderTable(
    ['ID', 'STATE', 'RESULT', 'EXIT CODE', 'NODE', 'FAILURE'],
    tasks.map((t) => {
      const info = obj(t.executionInfo);
      return [t.id, str(t.state), str(info.result), str(info.exitCode), str(obj(t.nodeInfo).nodeId), str(obj(info.failureInfo).code)];
    }),
  );
}

/** A failed task on one line: its id, failure code and message, and exit code when it ran. */
export function failedTaskLine(t: Resource): string {
  const info = obj(t.executionInfo);
  const failure = obj(info.failureInfo);
  const exit = info.exitCode === undefined ? '' : ` (exit code ${str(info.exitCode)})`;
  const details = Array.isArray(failure.details)
    ? (failure.details as Obj[]).map((d) => `${str(d.name)}=${str(d.value)}`).join(', ')
    : '';
  return `${t.id}: ${str(failure.code) || 'failed'}: ${str(failure.message)}${exit}${details ? ` [${details}]` : ''}`;
}

/** Batch's error as the user sees it: the code and message, then each value. */
export function errorText(err: ServiceError): string {
  const lines = [`${err.code}: ${err.message}`];
  for (const { key, value } of err.values) lines.push(`  ${key}: ${value}`);
  return lines.join('\n') + '\n';
}

export function formatElapsed(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1000);
  return `${minutes} min ${seconds} s`;
}

export function printJson(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n';
}
