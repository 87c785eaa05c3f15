// Batch's JSON shapes for what the API returns.
import type { Stored } from '../ports/document-store.js';
import type { JobDoc, NodeDoc, PoolDoc, TaskDoc } from './documents.js';

export function jobResource(baseUrl: string, stored: Stored<JobDoc>): Record<string, unknown> {
  const j = stored.item;
  return clean({
    id: j.jobId,
    displayName: j.displayName,
    url: `${baseUrl}/jobs/${encodeURIComponent(j.jobId)}`,
    eTag: stored.etag,
    lastModified: j.lastModified,
    creationTime: j.creationTime,
    state: j.state,
    stateTransitionTime: j.stateTransitionTime,
    previousState: j.previousState,
    previousStateTransitionTime: j.previousStateTransitionTime,
    priority: j.priority,
    maxParallelTasks: j.maxParallelTasks,
    constraints: j.constraints,
    poolInfo: j.poolInfo,
    usesTaskDependencies: j.usesTaskDependencies,
    onAllTasksComplete: j.onAllTasksComplete,
    onTaskFailure: j.onTaskFailure,
    commonEnvironmentSettings: j.commonEnvironmentSettings,
    metadata: j.metadata,
    executionInfo: j.executionInfo,
  });
}

export function taskResource(baseUrl: string, jobId: string, stored: Stored<TaskDoc>): Record<string, unknown> {
  const t = stored.item;
  return clean({
    id: t.taskId,
    displayName: t.displayName,
    url: `${baseUrl}/jobs/${encodeURIComponent(jobId)}/tasks/${encodeURIComponent(t.taskId)}`,
    eTag: stored.etag,
    creationTime: t.creationTime,
    state: t.state,
    stateTransitionTime: t.stateTransitionTime,
    previousState: t.previousState,
    previousStateTransitionTime: t.previousStateTransitionTime,
    commandLine: t.commandLine,
    environmentSettings: t.environmentSettings,
    constraints: t.constraints,
    dependsOn: t.dependsOn,
    exitConditions: t.exitConditions,
    requiredSlots: t.requiredSlots,
    executionInfo: t.executionInfo,
    nodeInfo: t.nodeInfo,
  });
}

export function poolResource(baseUrl: string, stored: Stored<PoolDoc>): Record<string, unknown> {
  const p = stored.item;
  return clean({
    id: p.poolId,
    url: `${baseUrl}/pools/${encodeURIComponent(p.poolId)}`,
    eTag: stored.etag,
    lastModified: p.lastModified,
    creationTime: p.creationTime,
    state: p.state,
    allocationState: p.allocationState,
    allocationStateTransitionTime: p.allocationStateTransitionTime,
    vmSize: p.vmSize,
    targetDedicatedNodes: p.targetDedicatedNodes,
    targetLowPriorityNodes: p.targetLowPriorityNodes,
    currentDedicatedNodes: p.currentDedicatedNodes,
    currentLowPriorityNodes: p.currentLowPriorityNodes,
    taskSlotsPerNode: p.taskSlotsPerNode,
    taskSchedulingPolicy: p.taskSchedulingPolicy,
    startTask: p.startTask,
    enableAutoScale: p.enableAutoScale,
    autoScaleFormula: p.autoScaleFormula,
    autoScaleEvaluationInterval: p.autoScaleEvaluationInterval,
    autoScaleRun: p.autoScaleRun,
    resizeErrors: p.resizeErrors.length ? p.resizeErrors : undefined,
  });
}

export function nodeResource(baseUrl: string, poolId: string, stored: Stored<NodeDoc>): Record<string, unknown> {
  const n = stored.item;
  return clean({
    id: n.nodeId,
    url: `${baseUrl}/pools/${encodeURIComponent(poolId)}/nodes/${encodeURIComponent(n.nodeId)}`,
    state: n.state,
    stateTransitionTime: n.stateTransitionTime,
    lastBootTime: n.lastBootTime,
    isDedicated: n.isDedicated,
    taskSlots: n.taskSlots,
    runningTasksCount: n.runningTasks.length,
    runningTaskSlotsCount: n.runningTasks.reduce((sum, t) => sum + (t.slots ?? 1), 0),
    recentTasks: n.recentTasks.map((t) => ({ jobId: t.jobId, taskId: t.taskId, endTime: t.endTime })),
  });
}

function clean(value: Record<string, unknown>): Record<string, unknown> {
  for (const key of Object.keys(value)) if (value[key] === undefined) delete value[key];
  return value;
}
