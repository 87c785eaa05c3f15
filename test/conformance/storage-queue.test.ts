import { randomUUID } from 'node:crypto';
import { QueueServiceClient } from '@azure/storage-queue';
import { afterAll, beforeAll } from 'vitest';
import { startAzurite, type AzuriteHandle } from '../../local-host/services/azurite.js';
import { StorageQueueWorkQueue } from '../../shared/adapters/storage-queue-work-queue.js';
import { sleep, workQueueConformance } from './work-queue.suite.js';

let azurite: AzuriteHandle;
let service: QueueServiceClient;

beforeAll(async () => {
  azurite = await startAzurite({ inMemory: true });
  service = QueueServiceClient.fromConnectionString(azurite.connectionString);
});

afterAll(async () => {
  await azurite?.stop();
});

workQueueConformance('Azure Storage queue on Azurite', async () => {
  const name = `conformance-${randomUUID().slice(0, 8)}`;
  const queue = await StorageQueueWorkQueue.fromService(service, name);
  return {
    queue,
    cleanup: async () => {
      await service.deleteQueue(name);
    },
    elapse: sleep,
  };
});
