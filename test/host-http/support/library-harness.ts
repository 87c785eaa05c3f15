// Loads the real @azure/functions library behind a minimal stand-in for the worker's
// @azure/functions-core module, so tests can register functions with app.http(...) and run them
// the way the Node worker does: getInvocationModel -> getArguments -> invokeFunction ->
// getResponse. This checks the HTTP front door against the library's real RPC shapes.

import { randomUUID } from 'node:crypto';
import Module, { createRequire } from 'node:module';
import type { InvokeRequest, InvokeResult, Invoker, RegisteredFunction, RpcTypedData } from '../../../local-host/contracts.js';
import type { InvokerWithId } from '../../../local-host/http/http-stream.js';

type FunctionsLibrary = typeof import('@azure/functions');

interface ProgrammingModelLike {
  getInvocationModel(coreCtx: unknown): {
    getArguments(): Promise<{ context: unknown; inputs: unknown[] }>;
    invokeFunction(context: unknown, inputs: unknown[], handler: (...args: unknown[]) => unknown): Promise<unknown>;
    getResponse(
      context: unknown,
      result: unknown,
    ): Promise<{ returnValue?: RpcTypedData | null; outputData?: { name: string; data: RpcTypedData }[] }>;
  };
  getCapabilities(capabilities: Record<string, string>): Promise<Record<string, string>>;
}

export interface LibraryHarness {
  lib: FunctionsLibrary;
  /** Functions registered so far through lib.app. */
  functions(): RegisteredFunction[];
  invoke: Invoker;
  invokeWithId: InvokerWithId;
  capabilities(): Promise<Record<string, string>>;
  systemLogs: string[];
}

const CORE_MODULE = '@azure/functions-core';

export function loadFunctionsLibrary(): LibraryHarness {
  let programmingModel: ProgrammingModelLike | undefined;
  const registered: RegisteredFunction[] = [];
  const systemLogs: string[] = [];

  const fakeCore = {
    version: '3.10.0',
    hostVersion: '4.1000.0',
    setProgrammingModel(model: ProgrammingModelLike) {
      programmingModel = model;
    },
    getProgrammingModel() {
      return programmingModel;
    },
    registerFunction(metadata: RegisteredFunction['metadata'], handler: RegisteredFunction['handler']) {
      const [triggerName, trigger] = Object.entries(metadata.bindings).find(([, b]) => /trigger$/i.test(b.type ?? ''))!;
      registered.push({ name: metadata.name, metadata, triggerName, trigger, handler });
      return { dispose() {} };
    },
    registerHook() {
      return { dispose() {} };
    },
    log(level: string, category: string, message: string) {
      systemLogs.push(`${level} ${category} ${message}`);
    },
  };

  const moduleInternals = Module as unknown as {
    _resolveFilename: (request: string, ...rest: unknown[]) => string;
    _cache: Record<string, unknown>;
  };
  const originalResolve = moduleInternals._resolveFilename;
  moduleInternals._resolveFilename = function (request: string, ...rest: unknown[]) {
    if (request === CORE_MODULE) return CORE_MODULE;
    return originalResolve.call(this, request, ...rest);
  };
  moduleInternals._cache[CORE_MODULE] = { id: CORE_MODULE, filename: CORE_MODULE, loaded: true, exports: fakeCore };

  const lib = createRequire(import.meta.url)('@azure/functions') as FunctionsLibrary;

  const invokeWithId: InvokerWithId = async (fn, request, invocationId) => {
    if (!programmingModel) throw new Error('no programming model registered');
    const coreCtx = {
      invocationId,
      request: toInvocationRequest(fn, request, invocationId),
      metadata: fn.metadata,
      state: undefined,
      log: (level: string, category: string, message: string) => systemLogs.push(`${level} ${category} ${message}`),
    };
    const model = programmingModel.getInvocationModel(coreCtx);
    const { context, inputs } = await model.getArguments();
    const result = await model.invokeFunction(context, inputs, fn.handler);
    const response = await model.getResponse(context, result);
    const outputs: InvokeResult['outputs'] = {};
    for (const output of response.outputData ?? []) outputs[output.name] = output.data;
    return { returnValue: response.returnValue, outputs };
  };

  return {
    lib,
    functions: () => [...registered],
    invoke: (fn, request) => invokeWithId(fn, request, randomUUID()),
    invokeWithId,
    capabilities: async () => {
      if (!programmingModel) throw new Error('no programming model registered');
      return programmingModel.getCapabilities({});
    },
    systemLogs,
  };
}

function toInvocationRequest(fn: RegisteredFunction, request: InvokeRequest, invocationId: string) {
  return {
    invocationId,
    functionId: fn.name,
    inputData: [{ name: fn.triggerName, data: request.triggerData }],
    triggerMetadata: request.triggerMetadata,
    retryContext: request.retryContext,
  };
}
