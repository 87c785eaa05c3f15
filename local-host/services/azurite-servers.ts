// Azurite's queue, blob and (optionally) table servers, started in the thread that loads this
// module: the Azurite worker (azurite-worker.ts). Azurite ships no type declarations for its
// internals, hence the narrow local interfaces below.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { azuriteModule } from './azurite-patches.js';
import { DEV_ACCOUNT_NAME, type AzuriteService } from './azurite.js';

export interface AzuriteServerSettings {
  /** Where the stores live; in memory, only their names. */
  root: string;
  inMemory: boolean;
  services: AzuriteService[];
}

export interface AzuriteEndpoints {
  connectionString: string;
  queueEndpoint: string;
  blobEndpoint: string;
  tableEndpoint?: string;
}

export interface RunningAzuriteServers {
  endpoints: AzuriteEndpoints;
  /** Closes every server, flushing what is persisted. */
  close(): Promise<void>;
}

interface AzuriteServer {
  start(): Promise<void>;
  close(): Promise<void>;
  getHttpServerAddress(): string;
}
type ServerClass = new (config: unknown) => AzuriteServer;
type ConfigClass = new (...args: unknown[]) => unknown;

function devAccountKey(): string {
  return azuriteModule<{ EMULATOR_ACCOUNT_KEY_STR: string }>('blob/utils/constants').EMULATOR_ACCOUNT_KEY_STR;
}

interface StorePaths {
  metadataDb: string;
  extentDb: string;
  persistence: { locationId: string; locationPath: string; maxConcurrency: number }[];
}

function storePaths(root: string, service: AzuriteService): StorePaths {
  return {
    metadataDb: path.join(root, `__azurite_db_${service}__.json`),
    extentDb: path.join(root, `__azurite_db_${service}_extent__.json`),
    persistence: [{ locationId: 'Default', locationPath: path.join(root, `__${service}storage__`), maxConcurrency: 10 }],
  };
}

// Shared settings: loopback, OS-chosen port, keep-alive 5 s, no access or debug log,
// strict (not loose) mode, any API version accepted, no TLS, no OAuth, path-style URLs.
const HOST = '127.0.0.1';
const KEEP_ALIVE_SECONDS = 5;

function createServer(service: AzuriteService, root: string, inMemory: boolean): AzuriteServer {
  const paths = storePaths(root, service);
  const tail = [false /* loose */, true /* skipApiVersionCheck */, '', '', '', undefined /* oauth */, false];
  if (service === 'table') {
    const Config = azuriteModule<{ default: ConfigClass }>('table/TableConfiguration').default;
    const Server = azuriteModule<{ default: ServerClass }>('table/TableServer').default;
    // TableConfiguration's order differs: (host, port, keepAlive, dbPath, enableDebugLog, enableAccessLog, accessLogStream, debugLogPath, ...)
    const config = new Config(HOST, 0, KEEP_ALIVE_SECONDS, paths.metadataDb, false, false, undefined, undefined, ...tail, inMemory);
    return new Server(config);
  }
  const folder = service === 'queue' ? 'queue/Queue' : 'blob/Blob';
  const Config = azuriteModule<{ default: ConfigClass }>(`${folder}Configuration`).default;
  const Server = azuriteModule<{ default: ServerClass }>(`${folder}Server`).default;
  // In memory, extents go to Azurite's module-wide chunk store. That store is this worker's own
  // (one worker per instance), so two in-memory instances never share or clear each other's data.
  const config = new Config(
    HOST, 0, KEEP_ALIVE_SECONDS, paths.metadataDb, paths.extentDb, paths.persistence,
    false /* access log */, undefined, false /* debug log */, undefined, ...tail, inMemory,
  );
  return new Server(config);
}

function accountEndpoint(server: AzuriteServer): string {
  return `${server.getHttpServerAddress()}/${DEV_ACCOUNT_NAME}`;
}

export async function startAzuriteServers(settings: AzuriteServerSettings): Promise<RunningAzuriteServers> {
  if (!settings.inMemory) await mkdir(settings.root, { recursive: true });

  const started = new Map<AzuriteService, AzuriteServer>();
  const closeAll = async (): Promise<void> => {
    const servers = [...started.values()];
    started.clear();
    await Promise.all(servers.map((s) => s.close()));
  };
  try {
    for (const service of settings.services) {
      const server = createServer(service, settings.root, settings.inMemory);
      await server.start();
      started.set(service, server);
    }
  } catch (err) {
    await closeAll().catch(() => undefined);
    throw err;
  }

  const queueEndpoint = accountEndpoint(started.get('queue')!);
  const blobEndpoint = accountEndpoint(started.get('blob')!);
  const table = started.get('table');
  const tableEndpoint = table ? accountEndpoint(table) : undefined;
  const connectionString =
    `DefaultEndpointsProtocol=http;AccountName=${DEV_ACCOUNT_NAME};AccountKey=${devAccountKey()};` +
    `QueueEndpoint=${queueEndpoint};BlobEndpoint=${blobEndpoint};` +
    (tableEndpoint ? `TableEndpoint=${tableEndpoint};` : '');
  return { endpoints: { connectionString, queueEndpoint, blobEndpoint, tableEndpoint }, close: closeAll };
}
