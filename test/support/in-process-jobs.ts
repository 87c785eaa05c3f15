// The job orchestration and its activities on the local Durable backend in this process (the real
// durable-functions replay engine, real-time driver), over the memory store and queue adapters,
// with workers that take task messages and claim and complete them through the real task
// lifecycle at once. Nothing runs a process: this measures and checks the control plane alone,
// at sizes the agent-process tests cannot reach.
import { DurableBackend } from '../../local-host/durable/backend.js';
import { memoryJournal } from '../../local-host/durable/journal.js';
import { MemoryDocumentStore } from '../../shared/adapters/memory-document-store.js';
import { MemoryWorkQueue } from '../../shared/adapters/memory-work-queue.js';
import { LocalScaleSetProvider } from '../../shared/adapters/local-scale-set-provider.js';
import { PRIORITY_BANDS, poolQueueName, type TaskMessage } from '../../shared/agent-protocol.js';
import { appContext, setAppContext, type AppContext } from '../../shared/app/context.js';
import { jobInstanceId } from '../../shared/app/documents.js';
import { JOB_EVENT, JOB_ORCHESTRATOR, type JobOrchestrations } from '../../shared/app/job-events.js';
import { forgetJobProgress } from '../../shared/app/job-progress.js';
import type { Services } from '../../shared/app/job-service.js';
import { createPool } from '../../shared/app/pool-service.js';
import { claimTask, completeTask } from '../../shared/app/task-lifecycle.js';
import type { WorkQueue } from '../../shared/ports/work-queue.js';
import { loadSimApp } from '../../sim/app-functions.js';

export interface InProcessJobs {
  services: Services;
  ctx: AppContext;
  backend: DurableBackend;
  /** Starts `workers` loops that each hold at most `slots` tasks of the pool at a time. */
  startWorkers(poolId: string, workers: number, slots: number): void;
  stop(): Promise<void>;
}

export async function startInProcessJobs(): Promise<InProcessJobs> {
  forgetJobProgress();
  const app = await loadSimApp();
  const queues = new Map<string, MemoryWorkQueue>();
  const queue = (name: string): MemoryWorkQueue => {
    let q = queues.get(name);
    if (!q) queues.set(name, (q = new MemoryWorkQueue(name)));
    return q;
  };
  // The local provider only records the pool's spec here: the pools these tests create have no nodes.
  const provider = new LocalScaleSetProvider({ endpoint: 'http://127.0.0.1:9/api', agentKey: 'unused', storageConnectionString: 'UseDevelopmentStorage=true', workRoot: '/nonexistent' });
  setAppContext({ store: new MemoryDocumentStore(), queueFactory: async (name) => queue(name), scaleSets: async () => provider });
  const ctx = await appContext();
  const backend = new DurableBackend({
    hubName: 'inprocess',
    journal: memoryJournal(),
    invoke: app.invoke,
    findFunction: (name) => app.registry.find(name),
  });
  backend.open();
  backend.startDriver();
  const orchestrations: JobOrchestrations = {
    start: async (instanceId, input) => void backend.startNew(JOB_ORCHESTRATOR, { instanceId, input }),
    raise: async (instanceId, event) => backend.raiseEvent(instanceId, JOB_EVENT, event),
    terminate: async (instanceId, reason) => backend.terminate(instanceId, reason),
  };
  let running = true;
  const loops: Promise<void>[] = [];

  const work = async (poolId: string, nodeId: string, slots: number): Promise<void> => {
    const bands: WorkQueue[] = PRIORITY_BANDS.map((band) => queue(poolQueueName(poolId, band)));
    while (running) {
      let taken = 0;
      for (const band of bands) {
        const messages = await band.receive(Math.min(32, slots), 60_000);
        taken += messages.length;
        await Promise.all(
          messages.map(async (message) => {
            const task = JSON.parse(message.body) as TaskMessage;
            const claim = await claimTask(ctx, { poolId, nodeId, jobId: task.jobId, taskId: task.taskId, dispatchId: task.dispatchId });
            if (claim.granted) {
              const at = new Date().toISOString();
              const outcome = await completeTask(ctx, { poolId, nodeId, jobId: task.jobId, taskId: task.taskId, dispatchId: task.dispatchId, exitCode: 0, startTime: at, endTime: at });
              if (outcome.ended) await orchestrations.raise(jobInstanceId(task.jobId), { type: 'tasksEnded', ends: [outcome.ended] });
            }
            await band.delete(message);
          }),
        );
        if (messages.length) break;
      }
      if (!taken) await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };

  return {
    services: { ctx, orchestrations },
    ctx,
    backend,
    startWorkers(poolId, workers, slots) {
      for (let i = 0; i < workers; i++) loops.push(work(poolId, `worker-${i}`, slots));
    },
    async stop() {
      running = false;
      await Promise.all(loops);
      backend.stopDriver();
      backend.close();
      forgetJobProgress();
    },
  };
}

export { createPool };
