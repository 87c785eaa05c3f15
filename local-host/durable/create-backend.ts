import path from 'node:path';
import type { LoadedApp } from '../app-loader.js';
import { DurableBackend, type DurableBackendOptions } from './backend.js';
import { fileJournal, memoryJournal } from './journal.js';

export interface DurableBackendSetup extends Omit<DurableBackendOptions, 'journal' | 'findFunction'> {
  app: LoadedApp;
  /** Where the task hub persists; undefined keeps everything in memory. */
  dataDir?: string;
}

/** A backend bound to an app's registered functions, persisted per task hub under dataDir. */
export function createDurableBackend(setup: DurableBackendSetup): DurableBackend {
  const { app, dataDir, ...options } = setup;
  const journal = dataDir ? fileJournal(path.join(dataDir, 'durable', setup.hubName)) : memoryJournal();
  const backend = new DurableBackend({ ...options, journal, findFunction: (name) => app.registry.find(name) });
  backend.open();
  return backend;
}
