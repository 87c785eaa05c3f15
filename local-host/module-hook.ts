// The Azure Functions Node worker makes `@azure/functions-core` resolvable from any app by hooking
// Node's CommonJS loader; @azure/functions (a CommonJS bundle) requires it lazily. We do the same,
// so an app runs here exactly as it is deployed, with no local-only registration code.
import Module from 'node:module';

type LoadFn = (request: string, parent: unknown, isMain: boolean) => unknown;

const CORE_MODULE = '@azure/functions-core';
let installedApi: unknown;

export function provideFunctionsCore(coreApi: unknown): void {
  const loader = Module as unknown as { _load: LoadFn };
  if (installedApi !== undefined) {
    if (installedApi !== coreApi) {
      throw new Error('@azure/functions-core is already provided in this process: run one local host per process');
    }
    return;
  }
  installedApi = coreApi;
  const original = loader._load;
  loader._load = function load(this: unknown, request: string, parent: unknown, isMain: boolean) {
    if (request === CORE_MODULE) return installedApi;
    return original.call(this, request, parent, isMain);
  };
}
