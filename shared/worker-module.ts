// Where a worker thread's module is. A worker thread cannot load TypeScript, so when the caller
// runs as TypeScript source (vitest) the worker is the build of it in dist/, which `npm run build`
// (run first by `npm test`) keeps up to date; when the caller runs compiled, it is its sibling.
import { existsSync } from 'node:fs';

/**
 * `sibling` is the worker's path relative to the compiled caller, `built` relative to the caller's
 * source. Undefined when the module is not there (source without a build).
 */
export function workerModuleUrl(callerUrl: string, sibling: string, built: string): URL | undefined {
  const url = new URL(callerUrl.endsWith('.ts') ? built : sibling, callerUrl);
  return existsSync(url) ? url : undefined;
}
