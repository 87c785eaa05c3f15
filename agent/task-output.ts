// One output file of a task (stdout.txt or stderr.txt), which the task's process writes in the task
// directory, copied to an append blob: what the file gained is appended every `flushMs` while the
// task runs, so it can be tailed, and the rest when it ends. Blob trouble never fails the task:
// the local file is complete regardless and the problem is logged. The blob is created only when
// the file first holds something (most short tasks write nothing, and each blob call costs a round
// trip); the API serves a missing file of a started task as empty.
import { statSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import type { AppendBlobClient, ContainerClient } from '@azure/storage-blob';
import type { RequestCounter } from '../shared/adapters/request-counter.js';
import type { OutputFollower } from './run-command.js';

// Append blobs take at most 50,000 blocks of at most 4 MiB each.
const MAX_BLOCK_BYTES = 4 * 1024 * 1024;
const MAX_BLOCKS = 50_000;
// Long chatty tasks would use up the block budget at one block per flush; past this many blocks
// flushes are spaced out so a day-long task still fits.
const SLOW_DOWN_AFTER_BLOCKS = 10_000;
const SLOW_FLUSH_MS = 10_000;
const TRUNCATION_NOTE = Buffer.from('\n[fnbatch: output truncated in blob storage; the node keeps the full file]\n');

export class TaskOutputFile implements OutputFollower {
  /** How much of the local file is in the blob. */
  private copied = 0;
  private reader: FileHandle | undefined;
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
    private readonly localPath: string,
    private readonly flushMs: number,
    private readonly log: (line: string) => void,
    private readonly requests: RequestCounter | undefined,
  ) {}

  /**
   * Follows the local file from its start. The blob is created at the first output, or at once
   * when `replace` is set (a retry: an earlier attempt's output must not survive a silent new
   * attempt). With `requests`, every blob call is counted there ("blob.create", "blob.appendBlock").
   */
  static follow(
    container: ContainerClient,
    blobName: string,
    localPath: string,
    flushMs: number,
    log: (line: string) => void,
    replace = false,
    requests?: RequestCounter,
  ): TaskOutputFile {
    const file = new TaskOutputFile(container, blobName, localPath, flushMs, log, requests);
    if (replace) file.flushing = file.createBlob();
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

  /** Copies what is left of the file (its writer has ended) and stops following it. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    await this.flushing;
    await this.flush();
    await this.reader?.close().catch(() => undefined);
  }

  private scheduleFlush(): void {
    if (this.closed) return;
    const delay = this.blocks >= SLOW_DOWN_AFTER_BLOCKS ? SLOW_FLUSH_MS : this.flushMs;
    this.timer = setTimeout(() => {
      this.flushing = this.flushing.then(() => this.flush()).finally(() => this.scheduleFlush());
    }, delay);
  }

  private async flush(): Promise<void> {
    if (!this.blobUsable || this.truncated) return;
    // One stat is all a quiet task's file costs. A synchronous one: a local stat takes microseconds,
    // while handing it to the thread pool cost the agent about 0.13 ms of CPU (waking a thread).
    const size = localSize(this.localPath);
    if (size <= this.copied) return;
    if (!this.created) await this.createBlob();
    if (!this.blobUsable) return;
    try {
      this.reader ??= await open(this.localPath, 'r');
      while (this.copied < size) {
        // Keep the last block for the truncation note.
        if (this.blocks >= MAX_BLOCKS - 1) {
          this.requests?.increment('blob.appendBlock');
          await this.blob.appendBlock(TRUNCATION_NOTE, TRUNCATION_NOTE.length);
          this.blocks++;
          this.truncated = true;
          return;
        }
        const block = Buffer.allocUnsafe(Math.min(MAX_BLOCK_BYTES, size - this.copied));
        const { bytesRead } = await this.reader.read(block, 0, block.length, this.copied);
        if (bytesRead === 0) return; // the file shrank: nothing more to copy
        this.requests?.increment('blob.appendBlock');
        await this.blob.appendBlock(block.subarray(0, bytesRead), bytesRead);
        this.copied += bytesRead;
        this.blocks++;
      }
    } catch (error) {
      // Losing a piece in the middle would make the blob misleading; stop appending instead.
      this.blobUsable = false;
      this.log(`stopped copying output to ${this.blobName}: ${(error as Error).message}`);
    }
  }
}

/** The file's size; 0 while it does not exist or cannot be read (the task's outcome never hangs on it). */
function localSize(localPath: string): number {
  try {
    return statSync(localPath, { throwIfNoEntry: false })?.size ?? 0;
  } catch {
    return 0;
  }
}
