// fnbatch's side of the compute benchmark: the app on an in-process local host, its context
// adapters wrapped in request counters, and its local agents counting their own requests at their
// adapters (agent/request-tally.ts), so a run can report what each task cost the control plane as
// well as how long it took, with nothing extra in the path of any request.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startHost, type RunningHost } from '../local-host/host.js';
import { CountingDocumentStore } from '../shared/adapters/counting-document-store.js';
import { CountingWorkQueue } from '../shared/adapters/counting-work-queue.js';
import { MemoryDocumentStore } from '../shared/adapters/memory-document-store.js';
import { RequestCounter } from '../shared/adapters/request-counter.js';
import { StorageQueueWorkQueue } from '../shared/adapters/storage-queue-work-queue.js';
import { partsFromSettings, setAppContext, type AppContextParts } from '../shared/app/context.js';
import { jobInstanceId } from '../shared/app/documents.js';
import { createScaleSetProvider } from '../shared/app/scale-set-factory.js';
import { AGENT_ENV } from '../shared/agent-protocol.js';
import { AgentRequestCounts } from './agent-request-counts.js';
import { commandLineOf, type BenchTask } from './compute-dag.js';
import { agentsCpuMs, ownCpuMs } from './process-cpu.js';
import { emptySlotTime, overruns, readyTasks, slotHandoffs, slotsFullAt, type EmptySlotTime, type RecordedTask, type Spread } from './slot-timeline.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const quiet = { info: () => {}, warn: () => {}, error: (m: string) => console.error(m) };

export interface FnbatchRun {
  tasks: number;
  failed: number;
  /** POST /jobs sent -> the job's orchestration finished (the job is completed). */
  wallMs: number;
  /** Earliest task start -> latest task end, from the tasks' executionInfo. */
  taskSpanMs: number;
  /** POST /jobs sent -> earliest task start. */
  firstStartMs: number;
  /** POST /jobs sent -> the first moment every slot of the pool ran a task; undefined if none did. */
  slotsFullMs?: number;
  /** Requests the app made through its adapters during the run ("store.*", "queue.*"). */
  app: Record<string, number>;
  /** Requests the agents made during the run ("queue.*", "blob.*", "api.*"). */
  agents: Record<string, number>;
  /** CPU time of the host process during the run. */
  hostCpuMs: number;
  /** CPU time of the local agents and the task processes they ran; undefined where it cannot be read. */
  agentsCpuMs?: number;
  /** How much longer tasks ran, as their nodes recorded them, than their commands take. */
  overrunMs?: Spread;
  /** How long a node's slot stood empty between one task's end and the next one's start. */
  handoffMs?: Spread;
  /**
   * The pool's empty slot time from submission to the last task's end, divided by its slots (so
   * in the run's own time), by whether a task was ready meanwhile.
   */
  emptyPoolMs?: EmptySlotTime;
}

export interface FnbatchBench {
  createPool(poolId: string, nodes: number, slotsPerNode: number): Promise<void>;
  deletePool(poolId: string): Promise<void>;
  /**
   * Submits the tasks as one job and waits for it to complete. Fails, naming the unfinished tasks,
   * when no agent claims or completes anything for `stallMs`, or after `timeoutMs` in all.
   */
  runJob(poolId: string, jobId: string, tasks: BenchTask[], limits: { timeoutMs: number; stallMs: number }): Promise<FnbatchRun>;
  stop(): Promise<void>;
}

type Call = (method: string, route: string, body?: unknown) => Promise<{ status: number; json: any; text: string }>;

/**
 * `workSignal: false` runs the host without offering its agents the work signal, so that idle
 * nodes find new work only by polling their queues (as they do on Azure).
 */
export async function startFnbatchBench(options: { workSignal?: boolean } = {}): Promise<FnbatchBench> {
  const appCounter = new RequestCounter();
  const countsDir = mkdtempSync(path.join(os.tmpdir(), 'fnbatch-bench-counts-'));
  const agentCounter = new AgentRequestCounts(countsDir);
  // The context must be in place before the app's first request (the maintenance timer runs at
  // start-up), but its parts need the settings the host sets while starting: hand it a promise
  // and settle it once the host is up.
  let provideParts!: (parts: Promise<AppContextParts>) => void;
  setAppContext(new Promise<AppContextParts>((resolve) => (provideParts = resolve)));

  let host: RunningHost | undefined;
  const dataDir = process.env.BENCH_IN_MEMORY === '1' ? undefined : mkdtempSync(path.join(os.tmpdir(), 'fnbatch-bench-'));
  try {
    // As `fnbatch host` runs by default: state in a data folder (journaled stores). BENCH_IN_MEMORY=1
    // runs it in memory instead, with the Cosmos DB protocol server as the document store.
    host = await startHost({
      appDir: repoRoot,
      port: 0,
      ...(dataDir ? { dataDir } : { inMemory: true }),
      log: quiet,
      functionLogs: false,
    });
    const agentEnv: NodeJS.ProcessEnv = { ...process.env, [AGENT_ENV.requestCountsDir]: countsDir };
    provideParts(countingParts(appCounter, agentEnv).then((parts) => (options.workSignal === false ? { ...parts, offerWorkSignal: false } : parts)));
  } catch (err) {
    // Settle the context with something harmless: the host's shutdown waits for it.
    provideParts(Promise.resolve({ store: new MemoryDocumentStore() }));
    await host?.stop();
    rmSync(countsDir, { recursive: true, force: true });
    throw err;
  }
  const running = host;

  const poolSizes = new Map<string, { nodes: number; slotsPerNode: number }>();
  const call: Call = async (method, route, body) => {
    const res = await fetch(`${running.baseUrl}/api/${route}`, {
      method,
      headers: { 'x-functions-key': running.keys.functionKey, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, json: text ? safeJson(text) : undefined, text };
  };

  return {
    async createPool(poolId, nodes, slotsPerNode) {
      const created = await call('POST', 'pools', { id: poolId, vmSize: 'local', targetDedicatedNodes: nodes, taskSlotsPerNode: slotsPerNode });
      if (created.status !== 201) throw new Error(`creating pool ${poolId}: ${created.status} ${created.text}`);
      poolSizes.set(poolId, { nodes, slotsPerNode });
      await waitUntil(async () => {
        const listed = await call('GET', `pools/${poolId}/nodes`);
        const states = ((listed.json?.value ?? []) as { state: string }[]).map((n) => n.state);
        return states.filter((s) => s === 'idle').length === nodes;
      }, `pool ${poolId}'s ${nodes} nodes to be idle`, 120_000);
    },

    async deletePool(poolId) {
      const deleted = await call('DELETE', `pools/${poolId}`);
      if (deleted.status !== 202) throw new Error(`deleting pool ${poolId}: ${deleted.status} ${deleted.text}`);
      await waitUntil(async () => (await call('GET', `pools/${poolId}`)).status === 404, `pool ${poolId} to be deleted`, 120_000);
    },

    async runJob(poolId, jobId, tasks, { timeoutMs, stallMs }) {
      const body = {
        id: jobId,
        poolInfo: { poolId },
        usesTaskDependencies: true,
        onAllTasksComplete: 'terminatejob',
        tasks: tasks.map((t) => ({ id: t.id, commandLine: commandLineOf(t), ...(t.deps.length ? { dependsOn: { taskIds: t.deps } } : {}) })),
      };
      // Requests of the set-up (e.g. idle polls) must not be counted against the job.
      await agentCounter.settle();
      appCounter.reset();
      agentCounter.reset();
      const submittedAt = Date.now();
      const started = performance.now();
      const hostCpuBefore = ownCpuMs();
      const agentsCpuBefore = agentsCpuMs();
      // Waiting on the job's orchestration rather than polling GET /jobs keeps the benchmark's
      // own reads out of the request counts; the orchestration ends right after it marks the job completed.
      const finished = running.backend.waitFor(jobInstanceId(jobId), undefined, timeoutMs);
      finished.catch(() => undefined); // a failed submission or a stall is reported instead
      const submitted = await call('POST', 'jobs', body);
      if (submitted.status !== 201) throw new Error(`submitting job ${jobId}: ${submitted.status} ${submitted.text}`);
      const watchdog = watchForStall(
        () => agentCounter.get('api.agent/reports') + agentCounter.get('api.agent/claim') + agentCounter.get('api.agent/complete'),
        stallMs,
      );
      let outcome;
      try {
        outcome = await Promise.race([finished, watchdog.stalled]);
      } finally {
        watchdog.stop();
      }
      if (outcome === 'stalled') throw new Error(`job ${jobId} stalled: ${await describeUnfinished(call, jobId, stallMs)}`);
      const wallMs = performance.now() - started;
      const hostCpuMs = ownCpuMs() - hostCpuBefore;
      const agentsCpuAfter = agentsCpuMs();
      // An agent deletes a task's message only once its end report has been answered, so the last
      // deletes may still be on their way when the job completes: let them land before counting.
      const settleBy = performance.now() + 5_000;
      for (;;) {
        await agentCounter.settle();
        if (agentCounter.get('queue.delete') >= tasks.length || performance.now() >= settleBy) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const app = appCounter.snapshot();
      const agents = agentCounter.snapshot();
      if (outcome.runtimeStatus !== 'Completed') throw new Error(`job ${jobId}'s orchestration ended ${outcome.runtimeStatus}`);
      const job = await call('GET', `jobs/${jobId}`);
      if (job.json?.state !== 'completed') throw new Error(`job ${jobId} is ${job.json?.state} after its orchestration ended`);

      const listed = await allTasks(call, jobId);
      const runs = recordedRuns(listed);
      const starts = [...runs.values()].map((r) => r.startMs);
      const ends = [...runs.values()].map((r) => r.endMs);
      const recorded = recordedTimes(listed, runs, tasks);
      const size = poolSizes.get(poolId);
      const overrunMs = overruns(recorded);
      const handoffMs = size === undefined ? undefined : slotHandoffs(recorded, size.slotsPerNode);
      const slots = size === undefined ? undefined : size.nodes * size.slotsPerNode;
      const fullAt = slots === undefined ? undefined : slotsFullAt(recorded, slots);
      const empty = slots === undefined ? undefined : emptySlotTime(readyTasks(tasks, runs, submittedAt), slots, submittedAt, Math.max(...ends));
      return {
        tasks: listed.length,
        failed: listed.filter((t) => t.executionInfo?.result !== 'success').length,
        wallMs,
        taskSpanMs: Math.max(...ends) - Math.min(...starts),
        firstStartMs: Math.min(...starts) - submittedAt,
        ...(fullAt !== undefined ? { slotsFullMs: fullAt - submittedAt } : {}),
        app,
        agents,
        hostCpuMs,
        ...(agentsCpuBefore !== undefined && agentsCpuAfter !== undefined ? { agentsCpuMs: agentsCpuAfter - agentsCpuBefore } : {}),
        ...(overrunMs ? { overrunMs } : {}),
        ...(handoffMs ? { handoffMs } : {}),
        ...(empty && slots ? { emptyPoolMs: { whileReady: empty.whileReady / slots, noneReady: empty.noneReady / slots } } : {}),
      };
    },

    async stop() {
      await running.stop();
      rmSync(countsDir, { recursive: true, force: true });
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The app's own parts from its settings, with the store and queues counted and the agents counting theirs. */
async function countingParts(counter: RequestCounter, agentEnv: NodeJS.ProcessEnv): Promise<AppContextParts> {
  const parts = await partsFromSettings(process.env);
  const queueService = parts.queueService;
  if (!queueService) throw new Error('no queue service in the app settings');
  return {
    ...parts,
    store: new CountingDocumentStore(parts.store, counter, 'store'),
    queueFactory: async (name) => {
      counter.increment('queue.open'); // createIfNotExists, once per queue and process
      return new CountingWorkQueue(await StorageQueueWorkQueue.fromService(queueService, name), counter, 'queue');
    },
    scaleSets: () => createScaleSetProvider(agentEnv),
  };
}

type ListedTask = {
  id: string;
  state: string;
  nodeInfo?: { nodeId?: string };
  executionInfo?: { startTime?: string; endTime?: string; result?: string };
};

/** Each listed task's recorded start and end, by id. */
function recordedRuns(listed: ListedTask[]): Map<string, { startMs: number; endMs: number }> {
  const runs = new Map<string, { startMs: number; endMs: number }>();
  for (const t of listed) {
    const startMs = Date.parse(t.executionInfo?.startTime ?? '');
    const endMs = Date.parse(t.executionInfo?.endTime ?? '');
    if (Number.isFinite(startMs) && Number.isFinite(endMs)) runs.set(t.id, { startMs, endMs });
  }
  return runs;
}

/** The node and times each task's run was recorded with, beside what its command takes. */
function recordedTimes(listed: ListedTask[], runs: ReadonlyMap<string, { startMs: number; endMs: number }>, tasks: BenchTask[]): RecordedTask[] {
  const nominal = new Map(tasks.map((t) => [t.id, t.durationMs]));
  const recorded: RecordedTask[] = [];
  for (const t of listed) {
    const run = runs.get(t.id);
    const nodeId = t.nodeInfo?.nodeId;
    const nominalMs = nominal.get(t.id);
    if (nodeId && run && nominalMs !== undefined) recorded.push({ nodeId, ...run, nominalMs });
  }
  return recorded;
}

/** Resolves 'stalled' once `progress()` has not changed for `stallMs`; checks the counter only, no requests. */
function watchForStall(progress: () => number, stallMs: number): { stalled: Promise<'stalled'>; stop(): void } {
  let timer: NodeJS.Timeout | undefined;
  const stalled = new Promise<'stalled'>((resolve) => {
    let last = progress();
    let lastChange = Date.now();
    timer = setInterval(() => {
      const now = progress();
      if (now !== last) {
        last = now;
        lastChange = Date.now();
      } else if (Date.now() - lastChange >= stallMs) {
        resolve('stalled');
      }
    }, Math.min(1_000, stallMs));
  });
  return { stalled, stop: () => clearInterval(timer) };
}

async function describeUnfinished(call: Call, jobId: string, stallMs: number): Promise<string> {
  const unfinished = (await allTasks(call, jobId)).filter((t) => t.state !== 'completed');
  const shown = unfinished
    .slice(0, 10)
    .map((t) => `${t.id} (${t.state}${t.nodeInfo?.nodeId ? ` on ${t.nodeInfo.nodeId}` : ''}${t.executionInfo?.startTime ? ` since ${t.executionInfo.startTime}` : ''})`);
  const more = unfinished.length > shown.length ? `, and ${unfinished.length - shown.length} more` : '';
  return `no agent claimed or completed a task for ${Math.round(stallMs / 1000)} s; ${unfinished.length} task(s) not completed: ${shown.join(', ')}${more}`;
}

async function allTasks(call: Call, jobId: string): Promise<ListedTask[]> {
  const tasks: ListedTask[] = [];
  let route = `jobs/${jobId}/tasks`;
  for (;;) {
    const page = await call('GET', route);
    if (page.status !== 200) throw new Error(`listing ${jobId}'s tasks: ${page.status} ${page.text}`);
    tasks.push(...(page.json.value as ListedTask[]));
    const next = page.json['odata.nextLink'] as string | undefined;
    if (!next) return tasks;
    route = next.slice(next.indexOf('/api/') + '/api/'.length);
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

async function waitUntil(probe: () => Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
