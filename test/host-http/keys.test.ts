import { mkdtemp, readFile, rm, stat, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { constantTimeEquals, loadKeys } from '../../local-host/http/keys.js';

let dataDir: string;
beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'fnbatch-keys-'));
});
afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

describe('host keys', () => {
  it('generates distinct random keys per run without a dataDir', async () => {
    const a = await loadKeys({ env: {} });
    const b = await loadKeys({ env: {} });
    expect(a.functionKey).not.toBe(a.masterKey);
    expect(a.functionKey).not.toBe(b.functionKey);
    expect(a.masterKey).not.toBe(b.masterKey);
    expect(a.functionKey).toMatch(/^[A-Za-z0-9_-]{40,}$/);
  });

  it('persists keys to <dataDir>/keys.json with mode 0600 and reuses them on the next load', async () => {
    const first = await loadKeys({ dataDir, env: {} });
    const file = join(dataDir, 'keys.json');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const stored = JSON.parse(await readFile(file, 'utf8'));
    expect(stored).toEqual({ functionKey: first.functionKey, masterKey: first.masterKey });

    const second = await loadKeys({ dataDir, env: {} });
    expect(second.functionKey).toBe(first.functionKey);
    expect(second.masterKey).toBe(first.masterKey);
    expect(second.systemKey('durabletask_extension')).toBe(first.systemKey('durabletask_extension'));
  });

  it('creates a missing dataDir, and concurrent first loads agree on one set of keys', async () => {
    const nested = join(dataDir, 'a', 'b');
    const loads = await Promise.all([1, 2, 3, 4].map(() => loadKeys({ dataDir: nested, env: {} })));
    expect(new Set(loads.map((k) => k.masterKey)).size).toBe(1);
    expect(new Set(loads.map((k) => k.functionKey)).size).toBe(1);
  });

  it('tightens a loosened keys file back to 0600', async () => {
    await loadKeys({ dataDir, env: {} });
    const file = join(dataDir, 'keys.json');
    await chmod(file, 0o644);
    await loadKeys({ dataDir, env: {} });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it('refuses a corrupt keys file instead of silently replacing the keys', async () => {
    await writeFile(join(dataDir, 'keys.json'), '{not json');
    await expect(loadKeys({ dataDir, env: {} })).rejects.toThrow(/keys\.json.*not valid JSON/);
  });

  it('uses FNBATCH_KEY as the default function key when set', async () => {
    const keys = await loadKeys({ dataDir, env: { FNBATCH_KEY: 'my-chosen-function-key' } });
    expect(keys.functionKey).toBe('my-chosen-function-key');
    expect(keys.authorize('function', 'my-chosen-function-key')).toBe(true);
    expect(keys.authorize('admin', 'my-chosen-function-key')).toBe(false);
    const withoutOverride = await loadKeys({ dataDir, env: { FNBATCH_KEY: '' } });
    expect(withoutOverride.functionKey).not.toBe('my-chosen-function-key');
    expect(withoutOverride.masterKey).toBe(keys.masterKey);
  });

  it('authorizes each level with the right keys; the master key satisfies every level', async () => {
    const keys = await loadKeys({ env: {} });
    const system = keys.systemKey('durabletask_extension');
    expect(system).not.toBe(keys.masterKey);
    expect(keys.systemKey('other')).not.toBe(system);

    expect(keys.authorize('anonymous', undefined)).toBe(true);
    expect(keys.authorize('function', undefined)).toBe(false);
    expect(keys.authorize('function', '')).toBe(false);
    expect(keys.authorize('function', keys.functionKey)).toBe(true);
    expect(keys.authorize('function', keys.masterKey)).toBe(true);
    expect(keys.authorize('function', keys.functionKey + 'x')).toBe(false);
    expect(keys.authorize('function', system)).toBe(false);
    expect(keys.authorize('admin', keys.functionKey)).toBe(false);
    expect(keys.authorize('admin', keys.masterKey)).toBe(true);
    expect(keys.authorize('system', system, 'durabletask_extension')).toBe(true);
    expect(keys.authorize('system', system, 'other')).toBe(false);
    expect(keys.authorize('system', keys.functionKey, 'durabletask_extension')).toBe(false);
    expect(keys.authorize('system', keys.masterKey, 'durabletask_extension')).toBe(true);
    expect(keys.authorize('system', keys.masterKey)).toBe(true);
  });

  it('compares keys of any length without throwing', () => {
    expect(constantTimeEquals('abc', 'abc')).toBe(true);
    expect(constantTimeEquals('abc', 'abcd')).toBe(false);
    expect(constantTimeEquals('', 'abc')).toBe(false);
  });
});
