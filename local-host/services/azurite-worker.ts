// The Azurite worker thread: starts the servers with the settings it is given, tells the main
// thread their endpoints, and closes them when asked. Loaded only by startAzurite (azurite.ts).
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { startAzuriteServers, type AzuriteEndpoints, type AzuriteServerSettings } from './azurite-servers.js';

export type ToAzuriteWorker = { type: 'stop' };
export type FromAzuriteWorker =
  | { type: 'ready'; endpoints: AzuriteEndpoints }
  | { type: 'failed'; message: string }
  | { type: 'stopped'; error?: string };

if (isMainThread || !parentPort) throw new Error('azurite-worker runs only as the worker startAzurite starts');
const port = parentPort;
const post = (message: FromAzuriteWorker) => port.postMessage(message);

try {
  const servers = await startAzuriteServers(workerData as AzuriteServerSettings);
  port.once('message', (_stop: ToAzuriteWorker) => {
    servers.close().then(
      () => post({ type: 'stopped' }),
      (err: unknown) => post({ type: 'stopped', error: errorText(err) }),
    );
  });
  post({ type: 'ready', endpoints: servers.endpoints });
} catch (err) {
  post({ type: 'failed', message: errorText(err) });
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
