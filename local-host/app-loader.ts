// Loads a compiled Functions v4 Node app the way the worker does: every file that package.json
// "main" names (a path or a glob) is imported, and the app's @azure/functions registers its
// functions with our core API while it is imported.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { FunctionRegistry, RegistrationError } from './functions-core.js';
import { provideFunctionsCore } from './module-hook.js';

export interface LoadedApp {
  appDir: string;
  registry: FunctionRegistry;
  /** Capabilities the app's library reported (e.g. HttpUri when HTTP streaming is on). */
  capabilities: Record<string, string>;
  appHookData: Record<string, unknown>;
}

export class AppLoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AppLoadError';
  }
}

export async function loadApp(appDir: string, registry = new FunctionRegistry()): Promise<LoadedApp> {
  const dir = path.resolve(appDir);
  const entryFiles = resolveEntryFiles(dir);
  provideFunctionsCore(registry.createCoreApi());
  for (const file of entryFiles) {
    try {
      await import(pathToFileURL(file).href);
    } catch (err) {
      if (err instanceof RegistrationError) throw err;
      const reason = err instanceof Error ? err.message : String(err);
      throw new AppLoadError(`Failed to load ${path.relative(dir, file)}: ${reason}`);
    }
  }
  if (registry.functions.size === 0) {
    throw new AppLoadError(`No functions were registered by ${entryFiles.map((f) => path.relative(dir, f)).join(', ')}`);
  }
  const appHookData: Record<string, unknown> = {};
  for (const hook of registry.hooksFor('appStart')) {
    await hook({ functionAppDirectory: dir, hookData: {}, appHookData });
  }
  const capabilities = (await registry.programmingModel?.getCapabilities?.({})) ?? {};
  return { appDir: dir, registry, capabilities, appHookData };
}

function resolveEntryFiles(appDir: string): string[] {
  const pkgFile = path.join(appDir, 'package.json');
  if (!existsSync(pkgFile)) throw new AppLoadError(`No package.json in ${appDir}`);
  let main: unknown;
  try {
    main = (JSON.parse(readFileSync(pkgFile, 'utf8')) as { main?: unknown }).main;
  } catch (err) {
    throw new AppLoadError(`Cannot read ${pkgFile}: ${(err as Error).message}`);
  }
  if (typeof main !== 'string' || main.trim() === '') {
    throw new AppLoadError(`${pkgFile} has no "main" entry naming the app's compiled files`);
  }
  const files = main.includes('*') ? expandGlob(appDir, main) : [path.resolve(appDir, main)];
  const missing = files.filter((f) => !existsSync(f));
  if (files.length === 0 || missing.length > 0) {
    throw new AppLoadError(`"main" (${main}) matches no compiled file in ${appDir}; build the app first`);
  }
  return files;
}

/** A small glob (`*` within a segment, `**` across segments), enough for package.json "main". */
function expandGlob(root: string, pattern: string): string[] {
  const source = pattern
    .replace(/\\/g, '/')
    .replace(/^\.\//, '')
    .split('/')
    .map((segment) =>
      segment === '**'
        ? '(?:.*/)?'
        : segment.replace(/[.+^${}()|[\]]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]') + '/',
    )
    .join('')
    .replace(/\/$/, '')
    .replace(/\(\?:\.\*\/\)\?\//g, '(?:.*/)?');
  const matcher = new RegExp(`^${source}$`);
  const found: string[] = [];
  const walk = (dir: string, rel: string) => {
    for (const entry of readdirSync(dir)) {
      if (entry === 'node_modules' || entry.startsWith('.')) continue;
      const full = path.join(dir, entry);
      const relPath = rel ? `${rel}/${entry}` : entry;
      if (statSync(full).isDirectory()) walk(full, relPath);
      else if (matcher.test(relPath)) found.push(full);
    }
  };
  walk(root, '');
  return found.sort();
}
