import { describe, expect, it } from 'vitest';
import { realClock } from '../../local-host/contracts.js';

describe('clock', () => {
  it('tells real time', () => {
    expect(Math.abs(realClock.now() - Date.now())).toBeLessThan(1000);
  });
});
