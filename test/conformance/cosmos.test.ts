import { randomUUID } from 'node:crypto';
import { CosmosClient } from '@azure/cosmos';
import { afterAll, beforeAll } from 'vitest';
import { localCosmosClientOptions, startCosmos, type CosmosHandle } from '../../local-host/services/cosmos.js';
import { CosmosDocumentStore } from '../../shared/adapters/cosmos-document-store.js';
import { documentStoreConformance } from './document-store.suite.js';

let cosmos: CosmosHandle;
let client: CosmosClient;

beforeAll(async () => {
  cosmos = await startCosmos();
  client = new CosmosClient(localCosmosClientOptions(cosmos));
});

afterAll(async () => {
  client?.dispose();
  await cosmos?.stop();
});

// A database per test keeps tests from seeing each other's containers.
documentStoreConformance('Cosmos DB (local protocol server)', async () => {
  const databaseId = `conformance-${randomUUID()}`;
  return {
    store: new CosmosDocumentStore(client, databaseId),
    cleanup: async () => {
      await client.database(databaseId).delete();
    },
  };
});
