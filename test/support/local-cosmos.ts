// A Cosmos DB protocol server and a real CosmosClient for the tests of a file (or a describe block).
import { CosmosClient } from '@azure/cosmos';
import { afterAll, beforeAll } from 'vitest';
import { localCosmosClientOptions, startCosmos, type CosmosHandle } from '../../local-host/services/cosmos.js';

export interface LocalCosmos {
  readonly handle: CosmosHandle;
  readonly client: CosmosClient;
}

/** Starts the server before the tests and stops it after; read the returned object inside tests. */
export function useLocalCosmos(): LocalCosmos {
  const state: { handle?: CosmosHandle; client?: CosmosClient } = {};
  beforeAll(async () => {
    state.handle = await startCosmos();
    state.client = new CosmosClient(localCosmosClientOptions(state.handle));
  });
  afterAll(async () => {
    state.client?.dispose();
    await state.handle?.stop();
  });
  return {
    get handle() {
      return state.handle!;
    },
    get client() {
      return state.client!;
    },
  };
}
