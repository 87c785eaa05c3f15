// Errors users see: a service behind the API failing past its client's retries is a 503 ServerBusy
// the caller retries, in Batch's shape; only what nothing explains is a logged 500.
import { InvocationContext } from '@azure/functions';
import { describe, expect, it } from 'vitest';
import { errorResponse } from '../../functions/http-kit.js';
import { invalidPropertyValue } from '../../shared/batch/index.js';
import { QueueError, StoreError } from '../../shared/ports/errors.js';

function contextLogging(lines: string[]): InvocationContext {
  return new InvocationContext({ functionName: 'test', logHandler: (_level, ...args) => lines.push(args.join(' ')) });
}

describe('errorResponse', () => {
  it.each([
    ['a throttled queue', new QueueError('Throttled', 'The server is busy.')],
    ['an unavailable queue', new QueueError('Unavailable', 'connect ECONNREFUSED')],
    ['a throttled store', new StoreError('Throttled', 'Request rate is large', { retryAfterMs: 2500 })],
    ['an unavailable store', new StoreError('Unavailable', 'socket hang up')],
  ])('answers %s with 503 ServerBusy and a Retry-After, logging nothing', (_name, error) => {
    const lines: string[] = [];
    const answer = errorResponse(error, contextLogging(lines));
    expect(answer.status).toBe(503);
    expect(answer.jsonBody).toMatchObject({ code: 'ServerBusy', message: { value: expect.any(String) } });
    expect(Number((answer.headers as Record<string, string>)['Retry-After'])).toBeGreaterThanOrEqual(1);
    expect(lines).toEqual([]);
  });

  it("answers a lost lease as an internal error (it is the app's to handle), and logs it", () => {
    const lines: string[] = [];
    const answer = errorResponse(new QueueError('LeaseLost', 'pop receipt is no longer current'), contextLogging(lines));
    expect(answer.status).toBe(500);
    expect(answer.jsonBody).toMatchObject({ code: 'InternalError' });
    expect(lines.join('\n')).toContain('pop receipt is no longer current');
  });

  it('answers bad input with its own 4xx', () => {
    const answer = errorResponse(invalidPropertyValue('exitCode', 'x', 'must be an integer or null'), contextLogging([]));
    expect(answer.status).toBe(400);
    expect(answer.jsonBody).toMatchObject({ code: 'InvalidPropertyValue', values: expect.arrayContaining([{ key: 'PropertyName', value: 'exitCode' }]) });
  });
});
