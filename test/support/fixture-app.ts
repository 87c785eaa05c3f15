import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadApp, type LoadedApp } from '../../local-host/app-loader.js';
import { createInvoker } from '../../local-host/invoker.js';
import type { Invoker } from '../../local-host/contracts.js';

export const fixtureDir = (name: string) =>
  path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', name);

/** Loads a fixture app once per test file (the functions-core hook is per process). */
export async function loadFixture(name: string): Promise<{ app: LoadedApp; invoke: Invoker }> {
  const app = await loadApp(fixtureDir(name));
  app.registry.logSink = () => {};
  const invoke = createInvoker({ registry: app.registry, appHookData: app.appHookData });
  return { app, invoke };
}
