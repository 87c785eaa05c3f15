// Runs one invocation the way the Node worker does: the app's programming model builds the
// arguments from RPC-shaped input, hooks run around the call, and the model converts the result
// back to RPC shape. Nothing here knows about a particular trigger.
import { randomUUID } from 'node:crypto';
import type { InvokeRequest, InvokeResult, Invoker, RegisteredFunction, RpcTypedData } from './contracts.js';
import type { CoreInvocationContext, FunctionRegistry } from './functions-core.js';

export interface InvokerOptions {
  registry: FunctionRegistry;
  appHookData: Record<string, unknown>;
  /** Supplies values for extra input bindings the host owns (e.g. the durable client). */
  bindingInputs?: (fn: RegisteredFunction) => Record<string, RpcTypedData>;
  newInvocationId?: () => string;
}

export function createInvoker(options: InvokerOptions): Invoker {
  const newId = options.newInvocationId ?? randomUUID;
  const invokeWithId = createInvokerWithId(options);
  return (fn, request) => invokeWithId(fn, request, newId());
}

/** As createInvoker, with the invocation id chosen by the caller (HTTP streaming matches it). */
export function createInvokerWithId(
  options: InvokerOptions,
): (fn: RegisteredFunction, request: InvokeRequest, invocationId: string) => Promise<InvokeResult> {
  const { registry, appHookData } = options;
  return async (fn, request, invocationId) => {
    const model = registry.programmingModel;
    if (!model) throw new Error('The app registered no programming model; is @azure/functions v4 installed?');
    const inputData = [{ name: fn.triggerName, data: request.triggerData }];
    const extra = { ...options.bindingInputs?.(fn), ...request.extraInputs };
    for (const [name, data] of Object.entries(extra)) {
      if (fn.metadata.bindings[name]) inputData.push({ name, data });
    }
    const coreContext: CoreInvocationContext = {
      invocationId,
      request: {
        invocationId,
        functionId: fn.name,
        inputData,
        triggerMetadata: request.triggerMetadata ?? {},
        retryContext: request.retryContext,
      },
      metadata: { ...fn.metadata, name: fn.name },
      log: (level, category, message) => {
        for (const hook of registry.hooksFor('log')) {
          hook({ level, category, message, invocationContext: undefined, hookData: {}, appHookData });
        }
        registry.logSink(level, category, message, fn.name);
      },
    };
    const invocationModel = await model.getInvocationModel(coreContext);
    const { context, inputs: initialInputs } = await invocationModel.getArguments();
    const hookData: Record<string, unknown> = {};

    coreContext.state = 'preInvocationHooks';
    const pre = { invocationContext: context, inputs: initialInputs, functionCallback: fn.handler, hookData, appHookData };
    for (const hook of registry.hooksFor('preInvocation')) await hook(pre);

    coreContext.state = 'invocation';
    let result: unknown;
    let error: unknown;
    try {
      result = await invocationModel.invokeFunction(context, pre.inputs, pre.functionCallback);
    } catch (err) {
      error = err;
    }

    coreContext.state = 'postInvocationHooks';
    const post = { invocationContext: context, inputs: pre.inputs, result, error, hookData, appHookData };
    for (const hook of registry.hooksFor('postInvocation')) await hook(post);
    coreContext.state = undefined;
    if (post.error !== undefined && post.error !== null) throw post.error;

    const response = await invocationModel.getResponse(context, post.result);
    const outputs: InvokeResult['outputs'] = {};
    for (const output of response.outputData ?? []) outputs[output.name] = output.data as RpcTypedData;
    return { returnValue: response.returnValue as RpcTypedData | undefined, outputs, rawReturn: post.result };
  };
}

/** Turns RPC typed data back into the JavaScript value it carries. */
export function fromTypedData(data: RpcTypedData | null | undefined): unknown {
  if (!data) return undefined;
  if (data.string !== undefined && data.string !== null) return data.string;
  if (data.json !== undefined && data.json !== null) return JSON.parse(data.json);
  if (data.int !== undefined && data.int !== null) return Number(data.int);
  if (data.double !== undefined && data.double !== null) return data.double;
  if (data.bytes) return Buffer.from(data.bytes);
  if (data.stream) return Buffer.from(data.stream);
  if (data.collectionString?.string) return data.collectionString.string;
  if (data.collectionDouble?.double) return data.collectionDouble.double;
  return undefined;
}
