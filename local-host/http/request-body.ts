// Reads a request body into memory with a size limit. An oversized body is still drained (up to a
// bound) before the caller answers 413: closing a socket that has unread data makes the kernel
// reset it, and the client would then see a connection error instead of the 413.

import type { IncomingMessage } from 'node:http';

export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`Request body exceeds ${limit} bytes`);
    this.name = 'BodyTooLargeError';
  }
}

export class RequestAbortedError extends Error {
  constructor() {
    super('The client aborted the request');
    this.name = 'RequestAbortedError';
  }
}

/** Past this many discarded bytes the oversized request is cut off instead of drained. */
const MAX_DRAIN_BYTES = 64 * 1024 * 1024;

export function declaredLength(req: IncomingMessage): number | undefined {
  const header = req.headers['content-length'];
  if (header === undefined || !/^\d+$/.test(header)) return undefined;
  return Number(header);
}

export function readRequestBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    let tooLarge = (declaredLength(req) ?? 0) > maxBytes;
    let settled = false;
    const finish = (error: Error | undefined, body?: Buffer): void => {
      if (settled) return;
      settled = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
      if (error) reject(error);
      else resolve(body!);
    };

    const onData = (chunk: Buffer): void => {
      received += chunk.length;
      if (received > maxBytes) tooLarge = true;
      if (tooLarge) {
        chunks.length = 0;
        if (received > maxBytes + MAX_DRAIN_BYTES) {
          finish(new BodyTooLargeError(maxBytes));
          req.destroy();
        }
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void =>
      finish(tooLarge ? new BodyTooLargeError(maxBytes) : undefined, Buffer.concat(chunks, received));
    const onError = (error: Error): void => finish(error);
    const onAborted = (): void => finish(new RequestAbortedError());

    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
  });
}
