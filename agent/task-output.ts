// One output file of a task (stdout.txt or stderr.txt): a local copy in the task directory and an
// append blob flushed every `flushMs` while the task runs, so it can be tailed. Blob trouble never
// fails the task: the local copy is complete regardless and the problem is logged. The blob is
// created only when the task first writes something (most short tasks write nothing, and each blob
// call costs a round trip); the API serves a missing file of a started task as empty.
import { createWriteStream, type WriteStream } from 'node:fs';
import type { AppendBlobClient, ContainerClient } from '@azure/storage-blob';
import type { RequestCounter } from '../shared/adapters/request-counter.js';

// Append blobs take at most 50,000 blocks of at most 4 MiB each.
const MAX_BLOCK_BYTES = 4 * 1024 * 1024;
const MAX_BLOCKS = 50_000;
// Long chatty tasks would use up the block budget at one block per flush; past this many blocks
// flushes are spaced out so a day-long task still fits.
const SLOW_DOWN_AFTER_BLOCKS = 10_000;
const SLOW_FLUSH_MS = 10_000;
const TRUNCATION_NOTE = Buffer.from('\n[fnbatch: output truncated in blob storage; the node keeps the full file]\n');

export class TaskOutputFile {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private blocks = 0;
  private truncated = false;
  private blobUsable = true;
  private flushing: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private created = false;

  /** Made at the first flush: most short tasks write nothing, and a client costs CPU to make. */
  private blobClient: AppendBlobClient | undefined;

  private constructor(
    private readonly container: ContainerClient,
    private readonly blobName: string,
    private readonly local: WriteStream,
    private readonly flushMs: number,
    private readonly log: (line: string) => void,
    private readonly requests: RequestCounter | undefined,
  ) {}

  /**
   * Opens the local file. The blob is created at the first output, or at once when `replace` is
   * set (a retry: an earlier attempt's output must not survive a silent new attempt). With
   * `requests`, every blob call is counted there ("blob.create", "blob.appendBlock").
   */
  static async open(
    container: ContainerClient,
    blobName: string,
    localPath: string,
    flushMs: number,
    log: (line: string) => void,
    replace = false,
    requests?: RequestCounter,
  ): Promise<TaskOutputFile> {
    const local = createWriteStream(localPath);
    // A full disk must not take the agent down with an unhandled stream error.
    local.on('error', (error) => log(`cannot write ${localPath}: ${error.message}`));
    const file = new TaskOutputFile(container, blobName, local, flushMs, log, requests);
    if (replace) await file.createBlob();
    file.scheduleFlush();
    return file;
  }

  private get blob(): AppendBlobClient {
    return (this.blobClient ??= this.container.getAppendBlobClient(this.blobName));
  }

  private async createBlob(): Promise<void> {
    this.created = true;
    try {
      this.requests?.increment('blob.create');
      await this.blob.create({ blobHTTPHeaders: { blobContentType: 'text/plain; charset=utf-8' } });
    } catch (error) {
      this.blobUsable = false;
      this.log(`cannot create blob ${this.blobName}: ${(error as Error).message}`);
    }
  }

  write(chunk: Buffer): void {
    if (this.closed) return;
    this.local.write(chunk);
    if (!this.blobUsable || this.truncated) return;
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
  }

  /** Flushes what is left and closes the local file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    await this.flushing;
    await this.flush();
    await new Promise<void>((resolve) => this.local.end(resolve));
  }

  private scheduleFlush(): void {
    if (this.closed) return;
    const delay = this.blocks >= SLOW_DOWN_AFTER_BLOCKS ? SLOW_FLUSH_MS : this.flushMs;
    this.timer = setTimeout(() => {
      this.flushing = this.flush().finally(() => this.scheduleFlush());
    }, delay);
  }

  private async flush(): Promise<void> {
    if (!this.blobUsable || this.pendingBytes === 0) return;
    if (!this.created) await this.createBlob();
    if (!this.blobUsable) return;
    const data = Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    try {
      for (let offset = 0; offset < data.length; offset += MAX_BLOCK_BYTES) {
        // Keep the last block for the truncation note.
        if (this.blocks >= MAX_BLOCKS - 1) {
          this.requests?.increment('blob.appendBlock');
          await this.blob.appendBlock(TRUNCATION_NOTE, TRUNCATION_NOTE.length);
          this.blocks++;
          this.truncated = true;
          return;
        }
        const block = data.subarray(offset, offset + MAX_BLOCK_BYTES);
        this.requests?.increment('blob.appendBlock');
        await this.blob.appendBlock(block, block.length);
        this.blocks++;
      }
    } catch (error) {
      // Losing a piece in the middle would make the blob misleading; stop appending instead.
      this.blobUsable = false;
      this.log(`stopped copying output to ${this.blobName}: ${(error as Error).message}`);
    }
  }
}
