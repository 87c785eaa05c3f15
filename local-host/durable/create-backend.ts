import path from 'node:path';
import type { Clock, HostLog, Invoker } from '../contracts.js';
import type { LoadedApp } from '../app-loader.js';
import { DurableBackend, type Scheduler } from './backend.js';
import { fileJournal, memoryJournal } from './journal.js';

export interface DurableBackendSetup {
  app: LoadedApp;
  invoke: Invoker;
  hubName: string;
  /** Where the task hub persists; undefined keeps everything in memory. */
  dataDir?: string;
  clock?: Clock;
  log?: HostLog;
  maxConcurrentActivities?: number;
  maxConcurrentOrchestrations?: number;
  newExecutionId?: () => string;
  scheduler?: Scheduler;
}

/** A backend bound to an app's registered functions, persisted per task hub under dataDir. */
export function createDurableBackend(setup: DurableBackendSetup): DurableBackend {
  const journal = setup.dataDir ? fileJournal(path.join(setup.dataDir, 'durable', setup.hubName)) : memoryJournal();
  const backend = new DurableBackend({
    hubName: setup.hubName,
    journal,
    invoke: setup.invoke,
    findFunction: (name) => setup.app.registry.find(name),
    clock: setup.clock,
    log: setup.log,
    maxConcurrentActivities: setup.maxConcurrentActivities,
    maxConcurrentOrchestrations: setup.maxConcurrentOrchestrations,
    newExecutionId: setup.newExecutionId,
    scheduler: setup.scheduler,
  });
  backend.open();
  return backend;
}
