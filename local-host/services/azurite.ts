// Runs Azurite (the Azure Storage emulator) on a worker thread of this process, on free loopback
// ports.
//
// A worker thread rather than a child process: start-up is faster, and it is the same process, so
// nothing is left running if the host dies. A worker thread rather than the main thread: Azurite
// handles every queue and blob request (HTTP parsing, XML, lokijs, disk) on its own event loop, so
// the host's HTTP requests and Durable orchestration steps never wait behind it. Each instance
// gets its own worker, hence its own Azurite modules and stores, so several can live in one process.
// The servers themselves are in azurite-servers.ts, Azurite's patches in azurite-patches.ts.
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { AzuriteEndpoints, AzuriteServerSettings } from './azurite-servers.js';
import type { FromAzuriteWorker, ToAzuriteWorker } from './azurite-worker.js';
import { workerModuleUrl } from '../../shared/worker-module.js';

export type AzuriteService = 'queue' | 'blob' | 'table';

export interface AzuriteOptions {
  /** Persist here; a later start with the same dataDir sees the same data. */
  dataDir?: string;
  /** Keep everything in memory (the default when no dataDir is given). */
  inMemory?: boolean;
  /** Which services to run. Queue and blob always run (the handle promises both endpoints); add 'table' for Table storage. */
  services?: AzuriteService[];
}

export interface AzuriteHandle {
  /** Explicit-endpoint connection string for the well-known dev account. Contains the (public) dev key: do not log it. */
  connectionString: string;
  queueEndpoint: string;
  blobEndpoint: string;
  tableEndpoint?: string;
  stop(): Promise<void>;
}

export const DEV_ACCOUNT_NAME = 'devstoreaccount1';

function servicesToRun(requested: AzuriteService[] = []): AzuriteService[] {
  return requested.includes('table') ? ['queue', 'blob', 'table'] : ['queue', 'blob'];
}

export async function startAzurite(opts: AzuriteOptions = {}): Promise<AzuriteHandle> {
  const inMemory = opts.inMemory ?? opts.dataDir === undefined;
  if (!inMemory && opts.dataDir === undefined) throw new Error('startAzurite: inMemory false needs a dataDir');
  // In memory, the paths are only used as store names; nothing is written.
  const root = opts.dataDir ? path.resolve(opts.dataDir) : path.join('azurite-in-memory');
  const settings: AzuriteServerSettings = { root, inMemory, services: servicesToRun(opts.services) };

  // None of the host's own Node options: Azurite needs none, and some would break the worker
  // (--input-type, for one, makes it refuse to load its module).
  const worker = new Worker(azuriteWorkerUrl(), { workerData: settings, execArgv: [] });
  const ended = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  let endpoints: AzuriteEndpoints;
  try {
    endpoints = await started(worker);
  } catch (err) {
    await worker.terminate();
    throw err;
  }
  let stopping: Promise<void> | undefined;
  surfaceUnexpectedEnd(worker, () => stopping !== undefined);
  return { ...endpoints, stop: () => (stopping ??= stopWorker(worker, ended)) };
}

function azuriteWorkerUrl(): URL {
  const url = workerModuleUrl(import.meta.url, './azurite-worker.js', '../../dist/local-host/services/azurite-worker.js');
  if (!url) throw new Error('startAzurite: dist/local-host/services/azurite-worker.js is missing; run npm run build');
  return url;
}

/** Resolves with the endpoints once every server listens; rejects if the worker fails first. */
function started(worker: Worker): Promise<AzuriteEndpoints> {
  return new Promise((resolve, reject) => {
    const settle = (outcome: () => void) => {
      worker.off('message', onMessage).off('error', onError).off('exit', onExit);
      outcome();
    };
    const onMessage = (message: FromAzuriteWorker) => {
      if (message.type === 'ready') settle(() => resolve(message.endpoints));
      else if (message.type === 'failed') settle(() => reject(new Error(`Azurite did not start: ${message.message}`)));
    };
    const onError = (err: Error) => settle(() => reject(new Error(`Azurite did not start: ${err.message}`, { cause: err })));
    const onExit = (code: number) => settle(() => reject(new Error(`Azurite did not start: its worker thread exited (code ${code})`)));
    worker.on('message', onMessage).on('error', onError).on('exit', onExit);
  });
}

/**
 * Once started, the worker ends only when stopped. Any other end means Azurite crashed, and it is
 * thrown as an uncaught error, as the same crash on the main thread would have been, rather than
 * leaving the host running without storage.
 */
function surfaceUnexpectedEnd(worker: Worker, stopRequested: () => boolean): void {
  let crashed = false;
  worker.on('error', (err) => {
    crashed = true;
    throw err;
  });
  worker.on('exit', (code) => {
    if (!crashed && !stopRequested()) throw new Error(`Azurite's worker thread ended unexpectedly (exit code ${code})`);
  });
}

/** Closes the servers (flushing what is persisted), then ends the worker. */
async function stopWorker(worker: Worker, ended: Promise<void>): Promise<void> {
  const reply = new Promise<FromAzuriteWorker | undefined>((resolve) => {
    worker.on('message', (message: FromAzuriteWorker) => message.type === 'stopped' && resolve(message));
    // A worker that already ended (it crashed) has nothing left to close.
    void ended.then(() => resolve(undefined));
  });
  worker.postMessage({ type: 'stop' } satisfies ToAzuriteWorker);
  const stopped = await reply;
  // Everything is closed: ending the thread here rather than waiting for its event loop to drain
  // means nothing Azurite left behind (a timer, a socket) can keep the process alive.
  await worker.terminate();
  if (stopped?.type === 'stopped' && stopped.error) throw new Error(`Azurite did not stop cleanly: ${stopped.error}`);
}
