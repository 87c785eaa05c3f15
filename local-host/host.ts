// The local host: runs a compiled Azure Functions v4 Node app on one machine, Durable Functions
// included, with the Azure services it needs started in-process. The app is loaded unchanged;
// everything it gets (settings, connections, trigger payloads) comes through the same channels as
// on Azure.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { loadApp, type LoadedApp } from './app-loader.js';
import { withLeanOrchestratorResponses } from './durable/lean-orchestrator-invocations.js';
import type { Clock, HostLog, Invoker, RegisteredFunction, RpcTypedData, TriggerListener } from './contracts.js';
import { RegistrationError } from './functions-core.js';
import { createDurableBackend } from './durable/create-backend.js';
import type { DurableBackend } from './durable/backend.js';
import { DURABLE_SYSTEM_KEY_NAME, DURABLE_WEBHOOK_PATH, durableClientData } from './durable/client-data.js';
import { createManagementApi, managementOverHttp } from './durable/management-api.js';
import { serveDurableClientInProcess } from './durable/in-process-client.js';
import { readHostJson, type HostJson } from './host-json.js';
import { startHttpServer, type RunningHttpServer } from './http/http-server.js';
import { buildHttpRoutes } from './http/http-routes.js';
import { functionKeyFromEnv, KEYS_FILE_NAME, loadKeys, writeRunKeysFile, type HostKeys } from './http/keys.js';
import { createInvoker, createInvokerWithId } from './invoker.js';
import { startAzurite, type AzuriteHandle } from './services/azurite.js';
import { startCosmos, type CosmosHandle } from './services/cosmos.js';
import { loadAppSettings } from './settings.js';
import { parseSchedule } from './triggers/ncrontab.js';
import { QueueTriggerListener } from './triggers/queue-trigger.js';
import { TimerTriggerListener } from './triggers/timer-trigger.js';

export interface HostOptions {
  appDir: string;
  /** 7071 by default; 0 picks a free port. */
  port?: number;
  /** Where state persists across restarts; default `<appDir>/.fnbatch`. Ignored with inMemory. */
  dataDir?: string;
  inMemory?: boolean;
  log?: HostLog;
  /** Print user function logs (default true). */
  functionLogs?: boolean;
  clock?: Clock;
  /** Start the Cosmos DB protocol server: default when the app depends on @azure/cosmos. */
  cosmos?: boolean;
}

export interface RunningHost {
  baseUrl: string;
  port: number;
  app: LoadedApp;
  keys: HostKeys;
  backend: DurableBackend;
  hostJson: HostJson;
  invoke: Invoker;
  stop(): Promise<void>;
}

const DURABLE_CLIENT_TYPES = new Set(['durableclient', 'orchestrationclient']);
const HOST_OWNED_TRIGGERS = new Set(['httptrigger', 'timertrigger', 'queuetrigger', 'orchestrationtrigger', 'activitytrigger']);

export const consoleLog: HostLog = {
  info: (m) => console.log(m),
  warn: (m) => console.warn(`warning: ${m}`),
  error: (m) => console.error(`error: ${m}`),
};

export async function startHost(options: HostOptions): Promise<RunningHost> {
  const log = options.log ?? consoleLog;
  const appDir = path.resolve(options.appDir);
  const dataDir = options.inMemory ? undefined : path.resolve(options.dataDir ?? path.join(appDir, '.fnbatch'));
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const hostJson = readHostJson(appDir);
  const stops: (() => Promise<void>)[] = [];
  let loaded: LoadedApp | undefined;
  const stopAll = async () => {
    // The app hears first, while everything it may need to wind down is still running.
    for (const hook of loaded?.registry.hooksFor('appTerminate') ?? []) {
      await Promise.resolve(hook({ hookData: {}, appHookData: loaded!.appHookData })).catch((err) => log.warn(`appTerminate hook: ${(err as Error).message}`));
    }
    for (const stop of stops.reverse()) await stop().catch((err) => log.warn(`shutdown: ${(err as Error).message}`));
  };

  try {
    // App settings reach the app as environment variables, as on Azure.
    const fileSettings = loadAppSettings(appDir);
    for (const name of localSettingNames(appDir)) {
      if (process.env[name] === undefined) process.env[name] = fileSettings.get(name);
    }

    const azurite: AzuriteHandle = await startAzurite(dataDir ? { dataDir: path.join(dataDir, 'azurite') } : { inMemory: true });
    stops.push(() => azurite.stop());
    const storage = process.env.AzureWebJobsStorage;
    if (!storage || /UseDevelopmentStorage=true/i.test(storage)) process.env.AzureWebJobsStorage = azurite.connectionString;

    if (options.cosmos ?? appDependsOn(appDir, '@azure/cosmos')) {
      const cosmos: CosmosHandle = await startCosmos();
      stops.push(() => cosmos.stop());
      // The protocol server keeps nothing on disk; state that must survive restarts lives elsewhere.
      process.env.COSMOS_ENDPOINT ??= cosmos.endpoint;
      process.env.COSMOS_KEY ??= cosmos.key;
    }

    // A folder the app may keep local state in (unset with --in-memory); not an Azure setting.
    if (dataDir) process.env.FUNCTIONS_LOCAL_DATA_DIR = path.join(dataDir, 'app');
    else delete process.env.FUNCTIONS_LOCAL_DATA_DIR;

    const settings = loadAppSettings(appDir);
    const app = await loadApp(appDir);
    // Orchestrators run in this process: their history goes in and their state comes out as values.
    if (app.registry.programmingModel) app.registry.programmingModel = withLeanOrchestratorResponses(app.registry.programmingModel);
    loaded = app;
    const functionLogs = options.functionLogs ?? true;
    app.registry.logSink = (level, category, message, fn) => {
      if (!functionLogs && category === 'user') return;
      if (level === 'error' || level === 'critical') log.error(`[${fn ?? 'host'}] ${message}`);
      else if (level === 'warning') log.warn(`[${fn ?? 'host'}] ${message}`);
      else if (level !== 'trace' && level !== 'debug') log.info(`[${fn ?? 'host'}] ${message}`);
    };
    const functions = [...app.registry.functions.values()];
    validateRegistrations(functions, hostJson, settings.resolve.bind(settings));

    const keys = await loadKeys({ dataDir, env: process.env });
    let keysFile = dataDir && path.join(dataDir, KEYS_FILE_NAME);
    if (!keysFile) {
      const runKeys = await writeRunKeysFile(keys);
      stops.push(() => runKeys.remove());
      keysFile = runKeys.path;
    }
    const hubName = settings.resolve(hostJson.durableTask.hubName);
    let origin = '';
    const clientData = (at: string) => durableClientData(at, hubName, keys.systemKey(DURABLE_SYSTEM_KEY_NAME));
    // Every invocation with a durable client input carries this text: made once per origin.
    let clientText: { origin: string; text: string } | undefined;
    const clientDataText = () => {
      if (clientText?.origin !== origin) clientText = { origin, text: JSON.stringify(clientData(origin)) };
      return clientText.text;
    };
    const invokerOptions = {
      registry: app.registry,
      appHookData: app.appHookData,
      bindingInputs: (fn: RegisteredFunction) => durableClientInputs(fn, clientDataText),
    };
    const invoke = createInvoker(invokerOptions);

    const backend = createDurableBackend({
      app,
      invoke,
      hubName,
      dataDir,
      clock: options.clock,
      log,
      maxConcurrentActivities: hostJson.durableTask.maxConcurrentActivityFunctions,
      maxConcurrentOrchestrations: hostJson.durableTask.maxConcurrentOrchestratorFunctions,
    });
    stops.push(async () => backend.close());

    const management = createManagementApi(backend, clientData);
    const server: RunningHttpServer = await startHttpServer({
      port: options.port ?? 7071,
      routePrefix: hostJson.routePrefix,
      functions,
      invoke,
      keys,
      log,
      httpStreamProxyUri: app.capabilities.HttpUri,
      invokeWithId: createInvokerWithId(invokerOptions),
      extraRoutes: [
        {
          pathPrefix: `${DURABLE_WEBHOOK_PATH}/`,
          auth: 'system',
          systemKeyName: DURABLE_SYSTEM_KEY_NAME,
          handle: managementOverHttp(management),
        },
      ],
    });
    stops.push(() => server.close());
    origin = server.baseUrl.replace(/\/+$/, '');
    const inProcessClient = serveDurableClientInProcess(appDir, origin, {
      api: management,
      authorize: (key) => keys.authorize('system', key, DURABLE_SYSTEM_KEY_NAME),
    });
    stops.push(async () => inProcessClient.stop());
    // The DurableClient rewrites management URLs to localhost:7071 unless it knows the host name.
    process.env.WEBSITE_HOSTNAME ||= new URL(origin).host;
    // Local-only: lets an app start local workers that call back into it (fnbatch's node agents).
    process.env.FUNCTIONS_LOCAL_BASE_URL = origin;
    process.env.FUNCTIONS_LOCAL_FUNCTION_KEY = keys.functionKey;

    const listeners: TriggerListener[] = [];
    for (const fn of functions) {
      const type = String(fn.trigger.type ?? '').toLowerCase();
      if (type === 'timertrigger') listeners.push(new TimerTriggerListener({ fn, invoke, settings, log, clock: options.clock }));
      else if (type === 'queuetrigger') {
        listeners.push(
          new QueueTriggerListener({ fn, invoke, settings, queues: hostJson.queues, log, developmentStorageConnectionString: azurite.connectionString }),
        );
      } else if (!HOST_OWNED_TRIGGERS.has(type)) {
        log.warn(`Function "${fn.name}" has a ${fn.trigger.type} trigger, which the local host does not run; it will not be triggered.`);
      }
    }
    backend.startDriver();
    for (const listener of listeners) {
      await listener.start();
      stops.push(() => listener.stop());
    }

    printBanner(log, origin, hostJson, functions, keysFile, dataDir);
    return { baseUrl: origin, port: server.port, app, keys, backend, hostJson, invoke, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

function durableClientInputs(fn: RegisteredFunction, dataText: () => string): Record<string, RpcTypedData> {
  const inputs: Record<string, RpcTypedData> = {};
  for (const [name, binding] of Object.entries(fn.metadata.bindings)) {
    if (binding.direction !== 'out' && DURABLE_CLIENT_TYPES.has(String(binding.type ?? '').toLowerCase())) {
      inputs[name] = { string: dataText() };
    }
  }
  return inputs;
}

/** Catches what would otherwise fail later, naming the function: bad routes, bad schedules. */
function validateRegistrations(functions: RegisteredFunction[], hostJson: HostJson, resolve: (s: string) => string) {
  buildHttpRoutes(functions, hostJson.routePrefix);
  for (const fn of functions) {
    if (String(fn.trigger.type ?? '').toLowerCase() !== 'timertrigger') continue;
    try {
      parseSchedule(resolve(String(fn.trigger.schedule ?? '')));
    } catch (err) {
      throw new RegistrationError(fn.name, `invalid timer schedule: ${(err as Error).message}`);
    }
  }
}

function localSettingNames(appDir: string): string[] {
  const file = path.join(appDir, 'local.settings.json');
  if (!existsSync(file)) return [];
  try {
    const values = (JSON.parse(readFileSync(file, 'utf8')) as { Values?: Record<string, unknown> }).Values ?? {};
    return Object.keys(values);
  } catch {
    return [];
  }
}

function appDependsOn(appDir: string, pkg: string): boolean {
  try {
    const manifest = JSON.parse(readFileSync(path.join(appDir, 'package.json'), 'utf8')) as Record<string, Record<string, string>>;
    return !!(manifest.dependencies?.[pkg] ?? manifest.devDependencies?.[pkg]);
  } catch {
    return false;
  }
}

// The keys themselves are never printed (a console is a log): only where to find them.
function printBanner(log: HostLog, origin: string, hostJson: HostJson, functions: RegisteredFunction[], keysFile: string, dataDir?: string) {
  const prefix = hostJson.routePrefix ? `/${hostJson.routePrefix}` : '';
  const lines = [`fnbatch local host listening on ${origin}`, `  data: ${dataDir ?? 'in memory (nothing kept)'}`, '  functions:'];
  for (const fn of functions) {
    const type = String(fn.trigger.type);
    if (type.toLowerCase() === 'httptrigger') {
      const methods = (fn.trigger.methods as string[] | undefined) ?? ['GET', 'POST'];
      lines.push(`    ${fn.name}: [${methods.join(',')}] ${origin}${prefix}/${String(fn.trigger.route ?? fn.name)}`);
    } else {
      lines.push(`    ${fn.name}: ${type}`);
    }
  }
  const functionKey = functionKeyFromEnv(process.env) ? 'FNBATCH_KEY' : `functionKey in the keys file`;
  lines.push(`  keys: ${keysFile}  (readable by you only)`);
  lines.push(`  function key: ${functionKey}  (send as x-functions-key or ?code=)`);
  log.info(lines.join('\n'));
}
