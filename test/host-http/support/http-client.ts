// A raw HTTP client for tests: unlike fetch it can send repeated headers, HEAD requests and
// chunked bodies exactly as written, and it returns the response bytes untouched.

import { request } from 'node:http';

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface RawRequestOptions {
  method?: string;
  headers?: Record<string, string | string[]>;
  body?: Buffer | string;
  /** Send the body with chunked transfer encoding (no content-length). */
  chunked?: boolean;
}

export function send(url: string, opts: RawRequestOptions = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: opts.method ?? 'GET', agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    for (const [name, value] of Object.entries(opts.headers ?? {})) req.setHeader(name, value);
    const body = opts.body === undefined ? undefined : Buffer.from(opts.body);
    if (body && !opts.chunked) req.setHeader('content-length', body.length);
    if (body && opts.chunked) {
      // Several writes, so the server really sees a chunked stream.
      const step = Math.max(1, Math.ceil(body.length / 4));
      for (let i = 0; i < body.length; i += step) req.write(body.subarray(i, i + step));
    } else if (body) {
      req.write(body);
    }
    req.end();
  });
}
