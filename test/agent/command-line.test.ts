// Command lines become argv without a shell; configuration errors are caught before the agent runs.
import { describe, expect, it } from 'vitest';
import { CommandLineError, splitCommandLine } from '../../agent/command-line.js';
import { AgentConfigError, loadAgentConfig } from '../../agent/config.js';
import { accountUrls, createStorageClients } from '../../agent/storage-clients.js';
import { parseTaskMessage } from '../../agent/task-message.js';

describe('splitCommandLine', () => {
  it.each([
    ['echo hello world', ['echo', 'hello', 'world']],
    ['  spaced\t  out  ', ['spaced', 'out']],
    [`/bin/sh -c "echo \\"hi\\" && exit 3"`, ['/bin/sh', '-c', 'echo "hi" && exit 3']],
    [`printf '%s\\n' 'a b' "c d"`, ['printf', '%s\\n', 'a b', 'c d']],
    ['echo $HOME *.txt | wc', ['echo', '$HOME', '*.txt', '|', 'wc']],
    [`a\\ b c`, ['a b', 'c']],
    [`x "" ''`, ['x', '', '']],
    [`pre"mid dle"'post'`, ['premid dlepost']],
    [`echo "keep \\n and \\$ and \\\\"`, ['echo', 'keep \\n and $ and \\']],
    ['one \\\ntwo', ['one', 'two']],
  ])('%s', (line, argv) => {
    expect(splitCommandLine(line)).toEqual(argv);
  });

  it.each([`echo "open`, `echo 'open`, '', '   ', 'trailing \\'])('rejects %j', (line) => {
    expect(() => splitCommandLine(line)).toThrow(CommandLineError);
  });
});

describe('loadAgentConfig', () => {
  const good = {
    FNBATCH_ENDPOINT: 'http://127.0.0.1:7071/api/',
    FNBATCH_POOL_ID: 'p1',
    FNBATCH_NODE_ID: 'p1-d1',
    FNBATCH_STORAGE: 'UseDevelopmentStorage=true',
  };

  it('reads the environment with defaults, and flags override it', () => {
    const config = loadAgentConfig(good);
    expect(config).toMatchObject({ endpoint: 'http://127.0.0.1:7071/api', poolId: 'p1', nodeId: 'p1-d1', isDedicated: true, taskSlots: 1, leaseMs: 30_000 });
    expect(config.agentKey).toBeUndefined();
    const overridden = loadAgentConfig({ ...good, FNBATCH_TASK_SLOTS: '2', FNBATCH_NODE_IS_DEDICATED: 'false' }, { taskSlots: 4, poolId: 'p2' });
    expect(overridden).toMatchObject({ taskSlots: 4, poolId: 'p2', isDedicated: false });
  });

  it('names every problem at once', () => {
    let error: unknown;
    try {
      loadAgentConfig({ FNBATCH_ENDPOINT: 'ftp://x', FNBATCH_TASK_SLOTS: 'many', FNBATCH_LEASE_MS: '10', FNBATCH_START_TASK: '{' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AgentConfigError);
    const message = (error as Error).message;
    for (const part of ['FNBATCH_ENDPOINT must be an http(s) URL', 'FNBATCH_POOL_ID is not set', 'FNBATCH_STORAGE is not set', 'FNBATCH_TASK_SLOTS', 'FNBATCH_LEASE_MS', 'FNBATCH_START_TASK is not valid JSON']) {
      expect(message).toContain(part);
    }
  });

  it('reads a start task', () => {
    const config = loadAgentConfig({ ...good, FNBATCH_START_TASK: JSON.stringify({ commandLine: 'true', waitForSuccess: true }) });
    expect(config.startTask).toEqual({ commandLine: 'true', environmentSettings: [], waitForSuccess: true });
  });
});

describe('accountUrls', () => {
  it('derives both endpoints from an account name or any service URL', () => {
    expect(accountUrls('myacct')).toEqual({ queueUrl: 'https://myacct.queue.core.windows.net', blobUrl: 'https://myacct.blob.core.windows.net' });
    expect(accountUrls('https://myacct.blob.core.chinacloudapi.cn/')).toEqual({
      queueUrl: 'https://myacct.queue.core.chinacloudapi.cn',
      blobUrl: 'https://myacct.blob.core.chinacloudapi.cn',
    });
    expect(() => accountUrls('http://myacct.queue.core.windows.net')).toThrow(AgentConfigError);
    expect(() => accountUrls('not a thing')).toThrow(AgentConfigError);
  });

  it('signs in with the managed identity for an account name, and with the key for a connection string', async () => {
    const byName = await createStorageClients('myacct');
    expect(byName.queues.url).toMatch(/^https:\/\/myacct\.queue\.core\.windows\.net\/?$/);
    expect(byName.blobs.url).toMatch(/^https:\/\/myacct\.blob\.core\.windows\.net\/?$/);
    expect(credentialOf(byName.queues).constructor.name).toBe('DefaultAzureCredential');
    const byKey = await createStorageClients('DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;QueueEndpoint=http://127.0.0.1:1/devstoreaccount1;BlobEndpoint=http://127.0.0.1:2/devstoreaccount1;');
    expect(credentialOf(byKey.queues).constructor.name).toBe('StorageSharedKeyCredential');
  });
});

describe('parseTaskMessage', () => {
  const valid = { v: 1, jobId: 'j', taskId: 't', dispatchId: 'd', retryCount: 0, commandLine: 'true', environment: [], requiredSlots: 1, enqueuedAt: '' };
  it('accepts a task message and refuses anything else with a reason', () => {
    expect(parseTaskMessage(JSON.stringify(valid)).ok).toBe(true);
    expect(parseTaskMessage('nope')).toEqual({ ok: false, reason: 'body is not JSON' });
    expect(parseTaskMessage(JSON.stringify({ ...valid, v: 2 }))).toMatchObject({ ok: false, reason: expect.stringContaining('version') });
    expect(parseTaskMessage(JSON.stringify({ ...valid, taskId: '../etc' }))).toMatchObject({ ok: false });
    expect(parseTaskMessage(JSON.stringify({ ...valid, requiredSlots: 0 }))).toMatchObject({ ok: false });
  });
});

/** The client's credential, a protected property the SDK gives no accessor for. */
function credentialOf(client: object): object {
  return Reflect.get(client, 'credential') as object;
}
