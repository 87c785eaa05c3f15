import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadAppSettings } from '../../local-host/settings.js';
import { parseTimeSpan, readHostJson } from '../../local-host/host-json.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'fnbatch-settings-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function appDir(files: Record<string, string>): Promise<string> {
  const d = await mkdtemp(path.join(dir, 'app-'));
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(d, name), text);
  return d;
}

describe('loadAppSettings', () => {
  const envName = 'FNBATCH_TEST_SETTING_LAYERING';
  afterEach(() => {
    delete process.env[envName];
  });

  it('layers overrides over the environment over local.settings.json Values', async () => {
    const d = await appDir({
      'local.settings.json': JSON.stringify({
        IsEncrypted: false,
        Values: { [envName]: 'from-file', OnlyInFile: 'file', Port: 7071, Flag: true },
      }),
    });
    expect(loadAppSettings(d).get(envName)).toBe('from-file');
    process.env[envName] = 'from-env';
    expect(loadAppSettings(d).get(envName)).toBe('from-env');
    expect(loadAppSettings(d, { [envName]: 'from-override' }).get(envName)).toBe('from-override');
    const s = loadAppSettings(d);
    expect(s.get('OnlyInFile')).toBe('file');
    expect(s.get('Port')).toBe('7071');
    expect(s.get('Flag')).toBe('true');
    expect(s.get('NoSuchSettingAnywhere_xyz')).toBeUndefined();
  });

  it('works without local.settings.json', async () => {
    const d = await appDir({});
    expect(loadAppSettings(d, { A: '1' }).get('A')).toBe('1');
  });

  it('resolves %name% expressions, and names a missing setting', async () => {
    const s = loadAppSettings(await appDir({}), { Queue: 'jobs', Env: 'dev' });
    expect(s.resolve('%Queue%-x')).toBe('jobs-x');
    expect(s.resolve('%Env%-%Queue%')).toBe('dev-jobs');
    expect(s.resolve('plain-name')).toBe('plain-name');
    expect(() => s.resolve('%Missing_abc%-x')).toThrow(/Missing_abc/);
  });

  it('reports a malformed local.settings.json by file name', async () => {
    const d = await appDir({ 'local.settings.json': '{ "Values": ' });
    expect(() => loadAppSettings(d)).toThrow(/local\.settings\.json/);
    const nested = await appDir({ 'local.settings.json': JSON.stringify({ Values: { A: { b: 1 } } }) });
    expect(() => loadAppSettings(nested)).toThrow(/Values\.A/);
  });
});

describe('parseTimeSpan', () => {
  it.each([
    ['00:00:02', 2_000],
    ['00:05:00', 300_000],
    ['00:05', 300_000],
    ['1.02:03:04.5', 86_400_000 + 2 * 3_600_000 + 3 * 60_000 + 4_500],
    ['00:00:00.1234567', 123.4567],
    ['2', 2 * 86_400_000],
    ['-00:00:01', -1000],
  ])('%s = %d ms', (text, ms) => {
    expect(parseTimeSpan(text)).toBeCloseTo(ms, 6);
  });

  it.each(['', 'abc', '00:60:00', '24:00:00', '1:2:3:4', '00:00:02s'])('rejects %j', (text) => {
    expect(() => parseTimeSpan(text)).toThrow(/TimeSpan/);
  });
});

describe('readHostJson', () => {
  it('applies the Azure host defaults to an empty host.json', async () => {
    const h = readHostJson(await appDir({ 'host.json': '{"version":"2.0"}' }));
    expect(h.routePrefix).toBe('api');
    expect(h.queues).toEqual({
      batchSize: 16,
      newBatchThreshold: 8,
      maxPollingIntervalMs: 60_000,
      visibilityTimeoutMs: 0,
      maxDequeueCount: 5,
      messageEncoding: 'base64',
    });
    expect(h.durableTask.hubName).toBe('TestHubName');
    expect(h.durableTask.storageProvider.type).toBe('AzureStorage');
  });

  it('uses defaults when there is no host.json', async () => {
    const h = readHostJson(await appDir({}));
    expect(h.file).toBeUndefined();
    expect(h.queues.batchSize).toBe(16);
  });

  it('reads the project host.json', () => {
    const h = readHostJson(process.cwd());
    expect(h.queues.maxPollingIntervalMs).toBe(2_000);
    expect(h.queues.visibilityTimeoutMs).toBe(30_000);
    expect(h.durableTask.hubName).toBe('fnbatch');
    expect(h.durableTask.storageProvider).toMatchObject({ type: 'AzureStorage', connectionStringName: 'AzureWebJobsStorage' });
    expect(h.durableTask.maxConcurrentActivityFunctions).toBe(32);
  });

  it('derives newBatchThreshold from batchSize and reads overrides', async () => {
    const h = readHostJson(
      await appDir({
        'host.json': JSON.stringify({
          version: '2.0',
          extensions: {
            http: { routePrefix: '' },
            queues: { batchSize: 5, maxPollingInterval: '1.00:00:00', messageEncoding: 'none', maxDequeueCount: 2 },
            durableTask: { hubName: '%HubSetting%', storageProvider: { type: 'Netherite' } },
          },
        }),
      }),
    );
    expect(h.routePrefix).toBe('');
    expect(h.queues.newBatchThreshold).toBe(2);
    expect(h.queues.maxPollingIntervalMs).toBe(86_400_000);
    expect(h.queues.messageEncoding).toBe('none');
    expect(h.queues.maxDequeueCount).toBe(2);
    expect(h.durableTask.hubName).toBe('%HubSetting%');
    expect(h.durableTask.storageProvider.type).toBe('Netherite');
  });

  it.each([
    ['{ not json', /host\.json: not valid JSON/],
    ['[]', /host\.json: \(root\) must be an object/],
    ['{"version":"1.0"}', /host\.json: version/],
    ['{"extensions":{"queues":{"batchSize":64}}}', /host\.json: extensions\.queues\.batchSize must be an integer 1-32/],
    ['{"extensions":{"queues":{"maxPollingInterval":"soon"}}}', /host\.json: extensions\.queues\.maxPollingInterval/],
    ['{"extensions":{"queues":{"messageEncoding":"utf8"}}}', /host\.json: extensions\.queues\.messageEncoding/],
    ['{"extensions":{"http":{"routePrefix":3}}}', /host\.json: extensions\.http\.routePrefix must be a string/],
  ])('rejects %s, naming the file and the problem', async (text, message) => {
    const d = await appDir({ 'host.json': text });
    expect(() => readHostJson(d)).toThrow(message);
    expect(() => readHostJson(d)).toThrow(path.join(d, 'host.json'));
  });
});
