// Azurite's internal modules, loaded with the patches below applied first. The patches change
// Azurite's modules where they are loaded, so they apply in the thread that runs the servers (the
// Azurite worker, see azurite.ts), never in the host's main thread.
import { createRequire, Module } from 'node:module';
import path from 'node:path';
import { Readable } from 'node:stream';

const require = createRequire(import.meta.url);

/** Requires `azurite/dist/src/<relative>`, after patching Azurite (once) as described below. */
export function azuriteModule<T>(relative: string): T {
  withoutTelemetry();
  withoutIndexRebuilds();
  withExtentCache();
  withoutExtentFlushes();
  return azuriteModuleRaw<T>(relative);
}

function azuriteModuleRaw<T>(relative: string): T {
  return require(`azurite/dist/src/${relative}`) as T;
}

/**
 * Two lokijs habits make every Azurite queue request cost more the more messages are queued:
 * - The queue store drops expired messages before every operation (send, receive, update,
 *   delete) with `collection.remove(expired)`, and lokijs answers even an empty removal by
 *   rebuilding every binary index of the messages collection from scratch (four sorts of all the
 *   messages of all queues) and flagging the collection for its next autosave.
 * - A receive updates the messages it hands out as one batch, and lokijs rebuilds the indexes
 *   after any batch update the same way, where updating each index in place costs far less.
 * Removing nothing now does nothing, and small batches are updated one document at a time with
 * the indexes kept up to date in place. Results are the same; only the index upkeep differs.
 */
const SMALL_BATCH = 32;

function withoutIndexRebuilds(): void {
  const lokiPath = require.resolve('lokijs', { paths: [path.dirname(require.resolve('azurite/package.json'))] });
  const loki = require(lokiPath) as { Collection?: { prototype: Record<string, unknown> } };
  const proto = loki.Collection?.prototype;
  if (!proto || typeof proto.remove !== 'function' || typeof proto.update !== 'function' || proto.remove.name === 'removeUnlessEmpty') return;
  const remove = proto.remove as (this: unknown, doc: unknown) => unknown;
  proto.remove = function removeUnlessEmpty(this: unknown, doc: unknown) {
    if (Array.isArray(doc) && doc.length === 0) return undefined;
    return remove.call(this, doc);
  };
  const update = proto.update as (this: unknown, doc: unknown) => unknown;
  proto.update = function updateInPlace(this: unknown, doc: unknown) {
    if (Array.isArray(doc) && doc.length <= SMALL_BATCH) {
      for (const one of doc) update.call(this, one);
      return undefined;
    }
    return update.call(this, doc);
  };
}

/**
 * Azurite reads each received queue message's text from its extent file on disk, one message
 * after the other (open, read, close: several event-loop turns each), so a receive of 16 messages
 * took 250-300 ms in a busy host. Extents are append-only and a written range never changes, so
 * what the host itself wrote since it started is kept in memory (bounded, oldest dropped first)
 * and read from there; everything is still written to disk as before, and anything not kept is
 * read from disk.
 */
const EXTENT_CACHE_MAX_ENTRY_BYTES = 64 * 1024;
const EXTENT_CACHE_MAX_BYTES = 32 * 1024 * 1024;

interface ExtentChunk {
  id: string;
  offset: number;
  count: number;
}

class ExtentCache {
  private readonly entries = new Map<string, Buffer>();
  private bytes = 0;

  static key(chunk: ExtentChunk): string {
    return `${chunk.id}:${chunk.offset}:${chunk.count}`;
  }

  get(chunk: ExtentChunk | undefined): Buffer | undefined {
    return chunk && chunk.count > 0 ? this.entries.get(ExtentCache.key(chunk)) : undefined;
  }

  set(chunk: ExtentChunk, data: Buffer): void {
    if (data.length !== chunk.count || data.length > EXTENT_CACHE_MAX_ENTRY_BYTES) return;
    this.entries.set(ExtentCache.key(chunk), Buffer.from(data));
    this.bytes += data.length;
    for (const [key, value] of this.entries) {
      if (this.bytes <= EXTENT_CACHE_MAX_BYTES) break;
      this.entries.delete(key);
      this.bytes -= value.length;
    }
  }
}

/** The prototype of Azurite's file extent store, which the two patches below change. */
function extentStorePrototype(): Record<string, unknown> | undefined {
  return azuriteModuleRaw<{ default?: { prototype: Record<string, unknown> } }>('common/persistence/FSExtentStore').default?.prototype;
}

function withExtentCache(): void {
  const proto = extentStorePrototype();
  if (!proto || typeof proto.appendExtent !== 'function' || typeof proto.readExtent !== 'function' || proto.readExtent.name === 'readExtentCached') return;
  const caches = new WeakMap<object, ExtentCache>();
  const cacheOf = (self: object) => {
    let cache = caches.get(self);
    if (!cache) caches.set(self, (cache = new ExtentCache()));
    return cache;
  };
  const append = proto.appendExtent as (this: object, data: unknown, contextId?: string) => Promise<ExtentChunk>;
  proto.appendExtent = async function appendExtentCached(this: object, data: unknown, contextId?: string) {
    const chunk = await append.call(this, data, contextId);
    if (Buffer.isBuffer(data)) cacheOf(this).set(chunk, data);
    return chunk;
  };
  const read = proto.readExtent as (this: object, chunk: ExtentChunk | undefined, contextId?: string) => Promise<NodeJS.ReadableStream>;
  proto.readExtent = async function readExtentCached(this: object, chunk: ExtentChunk | undefined, contextId?: string) {
    const cached = cacheOf(this).get(chunk);
    if (cached) return Readable.from([cached], { objectMode: false });
    return read.call(this, chunk, contextId);
  };
}

/**
 * Azurite flushes the extent file to the disk (fdatasync) after every append, so every queued
 * message waited for the disk, and the syncs queued up in libuv's four-thread pool behind each
 * other. That flush keeps nothing safe: which messages exist, and where their text lies, is kept
 * in Azurite's lokijs databases, which it writes out every 5 seconds without a sync, so a crash of
 * the host (or of the machine) loses the last seconds of the queues either way; the text of a
 * message they no longer name cannot be found. The job orchestration's watchdog sends a queued
 * task's message again once its queue is empty (job-runner.ts, checkInflight). Appends now end
 * once the data is written to the file, which a crash of the process does not undo. (The host's
 * own stores write their journals the same way: see shared/app/context.ts and
 * local-host/durable/journal.ts.)
 */
function withoutExtentFlushes(): void {
  const proto = extentStorePrototype();
  if (!proto || typeof proto.streamPipe !== 'function' || proto.streamPipe.name === 'streamPipeUnflushed') return;
  const pipe = proto.streamPipe as (this: object, rs: unknown, ws: unknown, fd: number | undefined, contextId?: string) => Promise<number>;
  // Without a descriptor, streamPipe resolves when the write stream finishes, skipping only the flush.
  proto.streamPipe = function streamPipeUnflushed(this: object, rs: unknown, ws: unknown, _fd: number | undefined, contextId?: string) {
    return pipe.call(this, rs, ws, undefined, contextId);
  };
}

/**
 * Azurite's telemetry client (common/Telemetry.js) loads `applicationinsights` as soon as any
 * server module is required, even though telemetry is only switched on by Azurite's own command
 * line, which the host never runs. Loading it costs about a second of CPU and patches `require`
 * (require-in-the-middle) and `console` for the whole thread, slowing every later module load.
 * The servers only ever call its static methods, and with telemetry off those do nothing, so the
 * module is put in the require cache as exactly that: the same methods, doing nothing.
 */
function withoutTelemetry(): void {
  const telemetryPath = require.resolve('azurite/dist/src/common/Telemetry');
  if (require.cache[telemetryPath]) return;
  class AzuriteTelemetryClient {
    static init(): void {}
    static TraceRequest(): void {}
    static async TraceStartEvent(): Promise<void> {}
    static TraceStopEvent(): void {}
  }
  const stub = new Module(telemetryPath);
  stub.filename = telemetryPath;
  stub.loaded = true;
  stub.exports = { AzuriteTelemetryClient };
  require.cache[telemetryPath] = stub;
}
