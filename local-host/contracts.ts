// The seams between the parts of the local host. The function registry captures what an app
// registers through @azure/functions; triggers (HTTP, timer, queue, Durable) turn outside events
// into invocations through an Invoker, exactly as the Functions host turns them into RPC
// InvocationRequests for the Node worker.

/** The subset of the worker's RpcTypedData that the @azure/functions library reads. */
export interface RpcTypedData {
  string?: string | null;
  json?: string | null;
  bytes?: Uint8Array | null;
  stream?: Uint8Array | null;
  http?: RpcHttpData | null;
  int?: number | null;
  double?: number | null;
  collectionString?: { string?: string[] | null } | null;
  collectionBytes?: { bytes?: Uint8Array[] | null } | null;
  collectionDouble?: { double?: number[] | null } | null;
}

export interface RpcHttpData {
  method?: string | null;
  url?: string | null;
  headers?: Record<string, string> | null;
  nullableHeaders?: Record<string, { value?: string | null }> | null;
  body?: RpcTypedData | null;
  params?: Record<string, string> | null;
  nullableParams?: Record<string, { value?: string | null }> | null;
  query?: Record<string, string> | null;
  nullableQuery?: Record<string, { value?: string | null }> | null;
  statusCode?: string | null;
  cookies?: unknown[] | null;
  enableContentNegotiation?: boolean | null;
}

export interface RpcBindingInfo {
  type?: string | null;
  direction?: 'in' | 'out' | 'inout' | null;
  dataType?: string | null;
  [property: string]: unknown;
}

export interface FunctionMetadata {
  name: string;
  functionId?: string;
  bindings: Record<string, RpcBindingInfo>;
  retryOptions?: unknown;
}

/** One function as the app registered it, with its trigger binding picked out. */
export interface RegisteredFunction {
  name: string;
  metadata: FunctionMetadata;
  /** The binding name of the trigger, e.g. "httpTrigger1a2b3c". */
  triggerName: string;
  /** The trigger binding as registered: type, plus its properties (route, schedule, queueName, ...). */
  trigger: RpcBindingInfo;
  handler: (...args: unknown[]) => unknown;
}

export interface InvokeRequest {
  /** The trigger's payload, as the host would send it over RPC. */
  triggerData: RpcTypedData;
  /** Trigger metadata; non-HTTP, non-timer keys are camel-cased by the library. */
  triggerMetadata?: Record<string, RpcTypedData>;
  /** Values for extra input bindings, by binding name (e.g. the durable client's connection info). */
  extraInputs?: Record<string, RpcTypedData>;
  retryContext?: { retryCount: number; maxRetryCount: number };
}

export interface InvokeResult {
  /** The function's return binding (or plain return value), still in RPC form. */
  returnValue?: RpcTypedData | null;
  /** Extra outputs by binding name, in RPC form. */
  outputs: Record<string, RpcTypedData | null | undefined>;
  /**
   * The handler's own return value before RPC conversion. In-process hosts use it where object
   * identity matters (the same action object appearing twice in an orchestrator's actions).
   */
  rawReturn?: unknown;
}

export type Invoker = (fn: RegisteredFunction, request: InvokeRequest) => Promise<InvokeResult>;

/** App settings as the Functions host resolves them: environment first, then local.settings.json Values. */
export interface AppSettings {
  get(name: string): string | undefined;
  /** Resolves %name% expressions in binding properties, as the host does for queueName, schedule, etc. */
  resolve(expression: string): string;
}

/** Host-level logger; never prints secrets. */
export interface HostLog {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** A source of "now", injectable so the same code runs in real and in virtual time. */
export interface Clock {
  now(): number;
  /** Calls fn after ms of this clock's time; returns a cancel function. */
  setTimer(ms: number, fn: () => void): () => void;
}

export const realClock: Clock = {
  now: () => Date.now(),
  setTimer(ms, fn) {
    const handle = setTimeout(fn, Math.max(0, ms));
    handle.unref?.();
    return () => clearTimeout(handle);
  },
};

/** A trigger listener started by the host and stopped at shutdown. */
export interface TriggerListener {
  start(): Promise<void>;
  stop(): Promise<void>;
}
