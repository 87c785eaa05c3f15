// The host side of `@azure/functions-core`: the module the Azure Functions Node worker provides at
// run time. The app's own @azure/functions library calls registerFunction / setProgrammingModel /
// registerHook on it while the app is imported; we keep what it registers.
import type { FunctionMetadata, RegisteredFunction, RpcBindingInfo } from './contracts.js';

export type HookName = 'preInvocation' | 'postInvocation' | 'appStart' | 'appTerminate' | 'log';
type HookCallback = (context: Record<string, unknown>) => unknown;

/** The programming model the app's library registers; the host asks it for one InvocationModel per call. */
export interface ProgrammingModel {
  name: string;
  version: string;
  getInvocationModel(coreContext: CoreInvocationContext): InvocationModel | Promise<InvocationModel>;
  getCapabilities?(defaults: Record<string, string>): Record<string, string> | Promise<Record<string, string>>;
}

export interface InvocationModel {
  getArguments(): Promise<{ context: unknown; inputs: unknown[] }>;
  invokeFunction(context: unknown, inputs: unknown[], callback: (...args: unknown[]) => unknown): Promise<unknown>;
  getResponse(context: unknown, result: unknown): Promise<{
    invocationId?: string;
    outputData?: { name: string; data: unknown }[];
    returnValue?: unknown;
  }>;
}

export interface CoreInvocationContext {
  invocationId: string;
  request: Record<string, unknown>;
  metadata: FunctionMetadata;
  state?: 'preInvocationHooks' | 'postInvocationHooks' | 'invocation';
  log(level: string, category: string, message: string): void;
}

export type LogSink = (level: string, category: string, message: string, functionName?: string) => void;

const FUNCTION_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,127}$/;

/** Raised at start-up when an app registers something the host cannot run; names the function. */
export class RegistrationError extends Error {
  constructor(functionName: string, problem: string) {
    super(`Function "${functionName}": ${problem}`);
    this.name = 'RegistrationError';
  }
}

class Disposable {
  static from(...items: { dispose: () => unknown }[]): Disposable {
    return new Disposable(() => items.forEach((item) => item.dispose()));
  }
  #onDispose: (() => unknown) | undefined;
  constructor(onDispose: () => unknown) {
    this.#onDispose = onDispose;
  }
  dispose(): unknown {
    const fn = this.#onDispose;
    this.#onDispose = undefined;
    return fn?.();
  }
}

export class FunctionRegistry {
  readonly functions = new Map<string, RegisteredFunction>();
  readonly hooks = new Map<HookName, HookCallback[]>();
  programmingModel: ProgrammingModel | undefined;
  /** Problems found while the app registered; reported together when loading finishes. */
  readonly problems: RegistrationError[] = [];
  logSink: LogSink = () => {};

  /** The object handed to `require('@azure/functions-core')`. */
  createCoreApi(): Record<string, unknown> {
    return {
      version: '4.0.0-fnbatch',
      hostVersion: '4.1000.0',
      Disposable,
      registerFunction: (metadata: FunctionMetadata, callback: (...args: unknown[]) => unknown) =>
        this.registerFunction(metadata, callback),
      registerHook: (name: string, callback: HookCallback) => this.registerHook(name, callback),
      setProgrammingModel: (model: ProgrammingModel) => {
        this.programmingModel = model;
      },
      getProgrammingModel: () => this.programmingModel,
      log: (level: string, category: string, message: string) => this.logSink(level, category, message),
    };
  }

  registerFunction(metadata: FunctionMetadata, callback: (...args: unknown[]) => unknown): Disposable {
    const name = metadata?.name;
    if (typeof name !== 'string' || !FUNCTION_NAME.test(name)) {
      throw new RegistrationError(String(name), 'the name must start with a letter and hold only letters, digits, "_" and "-"');
    }
    if (typeof callback !== 'function') {
      throw new RegistrationError(name, 'the handler is not a function');
    }
    const key = name.toLowerCase();
    if (this.functions.has(key)) {
      throw new RegistrationError(name, 'a function with this name (case-insensitive) is already registered');
    }
    const triggers = Object.entries(metadata.bindings ?? {}).filter(([, b]) => isTriggerBinding(b));
    if (triggers.length !== 1) {
      throw new RegistrationError(name, `expected exactly one trigger binding, found ${triggers.length}`);
    }
    const [triggerName, trigger] = triggers[0]!;
    const fn: RegisteredFunction = { name, metadata, triggerName, trigger, handler: callback };
    this.functions.set(key, fn);
    return new Disposable(() => this.functions.delete(key));
  }

  registerHook(name: string, callback: HookCallback): Disposable {
    const known: HookName[] = ['preInvocation', 'postInvocation', 'appStart', 'appTerminate', 'log'];
    if (!known.includes(name as HookName)) throw new Error(`Unknown hook "${name}"`);
    if (typeof callback !== 'function') throw new Error(`Hook "${name}" callback is not a function`);
    const list = this.hooks.get(name as HookName) ?? [];
    list.push(callback);
    this.hooks.set(name as HookName, list);
    return new Disposable(() => {
      const at = list.indexOf(callback);
      if (at >= 0) list.splice(at, 1);
    });
  }

  hooksFor(name: HookName): HookCallback[] {
    return [...(this.hooks.get(name) ?? [])];
  }

  find(name: string): RegisteredFunction | undefined {
    return this.functions.get(name.toLowerCase());
  }

  byTriggerType(type: string): RegisteredFunction[] {
    const wanted = type.toLowerCase();
    return [...this.functions.values()].filter((fn) => String(fn.trigger.type ?? '').toLowerCase() === wanted);
  }
}

export function isTriggerBinding(binding: RpcBindingInfo | undefined): boolean {
  return !!binding && typeof binding.type === 'string' && /trigger$/i.test(binding.type);
}
