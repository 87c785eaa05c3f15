// The compute benchmark's counting proxies, run on a worker thread. They only measure: on the main
// thread every agent request would cross the host's event loop twice more (in and out of the
// proxy), adding to the latency and CPU of the very host being measured. Here they keep their own
// event loop, and their counts reach the main thread as batched deltas.
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { RequestCounter } from '../shared/adapters/request-counter.js';
import { classifyApiRequest, classifyBlobRequest, classifyQueueRequest, startCountingProxy, type CountingProxy, type RequestClassifier } from './compute-proxy.js';

export type ProxyKind = 'queue' | 'blob' | 'api';

const CLASSIFIERS: Record<ProxyKind, RequestClassifier> = { queue: classifyQueueRequest, blob: classifyBlobRequest, api: classifyApiRequest };
/** How often counts are sent to the main thread while requests flow. */
const REPORT_MS = 20;

type ToWorker = { type: 'flush'; id: number } | { type: 'close' };
type FromWorker =
  | { type: 'ready'; urls: string[] }
  | { type: 'failed'; message: string }
  | { type: 'counts'; delta: Record<string, number> }
  | { type: 'flushed'; id: number }
  | { type: 'closed' };

export interface CountingProxies {
  /** Proxy URLs, in the order of the targets. */
  urls: string[];
  /** Resolves once every request counted so far has reached the counter. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** Starts one counting proxy per target on a worker thread; counts land in `counter`. */
export async function startCountingProxiesInWorker(targets: { target: string; kind: ProxyKind }[], counter: RequestCounter): Promise<CountingProxies> {
  const worker = new Worker(new URL(import.meta.url), { workerData: { countingProxyTargets: targets } });
  const flushes = new Map<number, () => void>();
  let nextFlush = 0;
  let closed: (() => void) | undefined;
  const ready = new Promise<string[]>((resolve, reject) => {
    worker.on('message', (message: FromWorker) => {
      switch (message.type) {
        case 'ready':
          return resolve(message.urls);
        case 'failed':
          return reject(new Error(`counting proxies: ${message.message}`));
        case 'counts':
          for (const [operation, count] of Object.entries(message.delta)) for (let i = 0; i < count; i++) counter.increment(operation);
          return;
        case 'flushed':
          flushes.get(message.id)?.();
          flushes.delete(message.id);
          return;
        case 'closed':
          closed?.();
      }
    });
    worker.once('error', reject);
  });
  const send = (message: ToWorker) => worker.postMessage(message);
  let urls: string[];
  try {
    urls = await ready;
  } catch (error) {
    await worker.terminate();
    throw error;
  }
  return {
    urls,
    flush: () =>
      new Promise<void>((resolve) => {
        const id = nextFlush++;
        flushes.set(id, resolve);
        send({ type: 'flush', id });
      }),
    close: async () => {
      const done = new Promise<void>((resolve) => (closed = resolve));
      send({ type: 'close' });
      await Promise.race([done, new Promise((resolve) => setTimeout(resolve, 5_000))]);
      await worker.terminate();
    },
  };
}

async function runWorker(): Promise<void> {
  const port = parentPort!;
  const post = (message: FromWorker) => port.postMessage(message);
  const counter = new RequestCounter();
  const sent = new Map<string, number>();
  const report = () => {
    const delta: Record<string, number> = {};
    let any = false;
    for (const [operation, count] of Object.entries(counter.snapshot())) {
      const change = count - (sent.get(operation) ?? 0);
      if (change > 0) {
        delta[operation] = change;
        sent.set(operation, count);
        any = true;
      }
    }
    if (any) post({ type: 'counts', delta });
  };
  const proxies: CountingProxy[] = [];
  try {
    for (const { target, kind } of (workerData as { countingProxyTargets: { target: string; kind: ProxyKind }[] }).countingProxyTargets) {
      proxies.push(await startCountingProxy(target, CLASSIFIERS[kind], counter));
    }
  } catch (error) {
    post({ type: 'failed', message: (error as Error).message });
    return;
  }
  const timer = setInterval(report, REPORT_MS);
  port.on('message', async (message: ToWorker) => {
    if (message.type === 'flush') {
      report();
      post({ type: 'flushed', id: message.id });
    } else {
      clearInterval(timer);
      report();
      for (const proxy of proxies) await proxy.close();
      post({ type: 'closed' });
      port.close();
    }
  });
  post({ type: 'ready', urls: proxies.map((p) => p.url) });
}

if (!isMainThread && (workerData as { countingProxyTargets?: unknown } | null)?.countingProxyTargets) void runWorker();
