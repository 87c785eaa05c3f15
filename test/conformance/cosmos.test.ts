import { randomUUID } from 'node:crypto';
import { useLocalCosmos } from '../support/local-cosmos.js';
import { CosmosDocumentStore } from '../../shared/adapters/cosmos-document-store.js';
import { documentStoreConformance } from './document-store.suite.js';

const local = useLocalCosmos();

// A database per test keeps tests from seeing each other's containers.
documentStoreConformance('Cosmos DB (local protocol server)', async () => {
  const databaseId = `conformance-${randomUUID()}`;
  return {
    store: new CosmosDocumentStore(local.client, databaseId),
    cleanup: async () => {
      await local.client.database(databaseId).delete();
    },
  };
});
