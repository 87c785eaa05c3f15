// Everything the fnbatch functions and activities use from the outside world, created once per
// process from the app settings: the document store (Cosmos DB on Azure; a journaled file store
// under the local host's data folder, which survives restarts), the pool queues and the
// task-output blobs (Azure Storage), and the node provider.
import https from 'node:https';
import path from 'node:path';
import { CosmosClient, type CosmosClientOptions } from '@azure/cosmos';
import { DefaultAzureCredential } from '@azure/identity';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import { PRIORITY_BANDS, TASK_OUTPUT_CONTAINER, poolQueueName, type PriorityBand } from '../agent-protocol.js';
import { CosmosDocumentStore } from '../adapters/cosmos-document-store.js';
import { FileDocumentStore } from '../adapters/file-document-store.js';
import { MemoryDocumentStore } from '../adapters/memory-document-store.js';
import { SignallingWorkQueue } from '../adapters/signalling-work-queue.js';
import { StorageQueueWorkQueue } from '../adapters/storage-queue-work-queue.js';
import type { Container, DocumentStore } from '../ports/document-store.js';
import type { ScaleSetProvider } from '../ports/scale-set-provider.js';
import type { WorkQueue } from '../ports/work-queue.js';
import { CONTAINERS, poolKey, type JobDoc, type NodeDoc, type PoolDoc, type TaskDoc } from './documents.js';
import { scaleSetProviderKind } from './scale-set-factory.js';
import { WorkSignal } from './work-signal.js';

export interface AppContext {
  jobs: Container<JobDoc>;
  tasks: Container<TaskDoc>;
  pools: Container<PoolDoc>;
  nodes: Container<NodeDoc>;
  queue(poolId: string, band: PriorityBand): Promise<WorkQueue>;
  outputs(): Promise<ContainerClient>;
  scaleSets(): Promise<ScaleSetProvider>;
  now(): number;
  /** Counts this process's sends to each pool's queues, for idle agents waiting on new work. */
  workSignal: WorkSignal;
  /** Releases what this process started (local agent processes, store locks). */
  close?(): Promise<void>;
}

export interface AppContextParts {
  store: DocumentStore;
  queueService?: QueueServiceClient;
  blobService?: BlobServiceClient;
  queueFactory?: (name: string) => Promise<WorkQueue>;
  scaleSets?: () => Promise<ScaleSetProvider>;
  now?: () => number;
  /**
   * This process sends every task message of its pools (one host, as the local host is), so
   * agents may wait on its work signal rather than poll. Off by default.
   */
  offerWorkSignal?: boolean;
}

let current: Promise<AppContext> | undefined;

/** The process-wide context, built from the app settings on first use. */
export function appContext(): Promise<AppContext> {
  current ??= buildContext(partsFromSettings(process.env));
  return current;
}

/** Replaces the context (the simulator and tests wire in their own adapters). */
export function setAppContext(parts: AppContextParts | Promise<AppContextParts>): void {
  current = Promise.resolve(parts).then(buildContext);
}

async function buildContext(partsOrPromise: AppContextParts | Promise<AppContextParts>): Promise<AppContext> {
  const parts = await partsOrPromise;
  const [jobs, tasks, pools, nodes] = await Promise.all([
    parts.store.container<JobDoc>(CONTAINERS.jobs.name, CONTAINERS.jobs.partitionKeyPath),
    parts.store.container<TaskDoc>(CONTAINERS.tasks.name, CONTAINERS.tasks.partitionKeyPath),
    parts.store.container<PoolDoc>(CONTAINERS.pools.name, CONTAINERS.pools.partitionKeyPath),
    parts.store.container<NodeDoc>(CONTAINERS.nodes.name, CONTAINERS.nodes.partitionKeyPath),
  ]);
  const queues = new Map<string, Promise<WorkQueue>>();
  const openQueue =
    parts.queueFactory ??
    ((name: string) => {
      if (!parts.queueService) throw new Error('No storage is configured for the task queues (AzureWebJobsStorage).');
      return StorageQueueWorkQueue.fromService(parts.queueService, name);
    });
  let outputs: Promise<ContainerClient> | undefined;
  let provider: Promise<ScaleSetProvider> | undefined;
  const workSignal = new WorkSignal(parts.offerWorkSignal === true);
  return {
    jobs,
    tasks,
    pools,
    nodes,
    queue(poolId, band) {
      const name = poolQueueName(poolId, band);
      let queue = queues.get(name);
      if (!queue) {
        const pool = poolKey(poolId);
        queue = openQueue(name).then((opened) => new SignallingWorkQueue(opened, () => workSignal.notify(pool)));
        queue.catch(() => queues.delete(name));
        queues.set(name, queue);
      }
      return queue;
    },
    outputs() {
      outputs ??= (async () => {
        if (!parts.blobService) throw new Error('No storage is configured for task outputs (AzureWebJobsStorage).');
        const container = parts.blobService.getContainerClient(TASK_OUTPUT_CONTAINER);
        await container.createIfNotExists();
        return container;
      })();
      return outputs;
    },
    scaleSets() {
      if (!parts.scaleSets) return Promise.reject(new Error('No node provider is configured (FNBATCH_SCALE_SET_PROVIDER).'));
      provider ??= parts.scaleSets();
      return provider;
    },
    now: parts.now ?? (() => Date.now()),
    workSignal,
    async close() {
      workSignal.close();
      const started = await provider?.catch(() => undefined);
      const stoppable = started as (ScaleSetProvider & { stopAll?: () => Promise<void> }) | undefined;
      await stoppable?.stopAll?.();
      const closable = parts.store as DocumentStore & { close?: () => Promise<void> | void };
      await closable.close?.();
    },
  };
}

/** Closes the process-wide context, if one was made. */
export async function closeAppContext(): Promise<void> {
  const ctx = await current?.catch(() => undefined);
  current = undefined;
  await ctx?.close?.();
}

/** Reads the app settings listed in shared/config/app-settings.ts. */
export async function partsFromSettings(env: NodeJS.ProcessEnv): Promise<AppContextParts> {
  const storage = storageClients(env);
  return {
    store: await documentStore(env),
    ...storage,
    // Local nodes are agent processes of this one host, which sends all of their pools' work.
    offerWorkSignal: scaleSetProviderKind(env) === 'local',
    scaleSets: async () => {
      const { createScaleSetProvider } = await import('./scale-set-factory.js');
      return createScaleSetProvider(env);
    },
  };
}

async function documentStore(env: NodeJS.ProcessEnv): Promise<DocumentStore> {
  const choice = env.FNBATCH_STORE ?? (env.FUNCTIONS_LOCAL_DATA_DIR ? 'file' : env.COSMOS_ENDPOINT ? 'cosmos' : 'memory');
  switch (choice) {
    case 'file':
      if (!env.FUNCTIONS_LOCAL_DATA_DIR) throw new Error('FNBATCH_STORE=file needs the local host data folder (FUNCTIONS_LOCAL_DATA_DIR).');
      return FileDocumentStore.open(path.join(env.FUNCTIONS_LOCAL_DATA_DIR, 'fnbatch-state'), { fsync: false });
    case 'memory':
      return new MemoryDocumentStore();
    case 'cosmos': {
      const endpoint = env.COSMOS_ENDPOINT;
      if (!endpoint) throw new Error('COSMOS_ENDPOINT is not set.');
      const options: CosmosClientOptions = { endpoint };
      if (env.COSMOS_KEY) {
        options.key = env.COSMOS_KEY;
        if (isLoopback(endpoint)) {
          // The local Cosmos DB protocol server has a self-signed certificate; trust it for this client only.
          options.agent = new https.Agent({ rejectUnauthorized: false, keepAlive: true });
          options.connectionPolicy = { enableEndpointDiscovery: false, enableBackgroundEndpointRefreshing: false };
        }
      } else {
        options.aadCredentials = new DefaultAzureCredential({ managedIdentityClientId: env.AZURE_CLIENT_ID });
      }
      return new CosmosDocumentStore(new CosmosClient(options), env.COSMOS_DATABASE ?? 'fnbatch');
    }
    default:
      throw new Error(`FNBATCH_STORE '${choice}' is not one of cosmos, file, memory.`);
  }
}

function storageClients(env: NodeJS.ProcessEnv): { queueService?: QueueServiceClient; blobService?: BlobServiceClient } {
  const connection = env.AzureWebJobsStorage;
  if (connection && connection.includes('=')) {
    return {
      queueService: QueueServiceClient.fromConnectionString(connection),
      blobService: BlobServiceClient.fromConnectionString(connection),
    };
  }
  const account = env.AzureWebJobsStorage__accountName;
  if (!account) return {};
  const credential = new DefaultAzureCredential({ managedIdentityClientId: env.AzureWebJobsStorage__clientId ?? env.AZURE_CLIENT_ID });
  return {
    queueService: new QueueServiceClient(`https://${account}.queue.core.windows.net`, credential),
    blobService: new BlobServiceClient(`https://${account}.blob.core.windows.net`, credential),
  };
}

function isLoopback(endpoint: string): boolean {
  const host = new URL(endpoint).hostname;
  return host === '127.0.0.1' || host === 'localhost' || host === '[::1]';
}

export const ALL_BANDS = PRIORITY_BANDS;
