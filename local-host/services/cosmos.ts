// Runs a Cosmos DB protocol server (@vercel/cosmosdb-server) in this process on a free loopback port,
// so the real @azure/cosmos client can be used offline.
//
// Known limits of this server compared with Azure Cosmos DB (code using it must not rely on these):
// - it keeps nothing on disk: every start is empty, so callers create databases/containers with createIfNotExists;
// - transactional batches are not atomic (operations apply one by one);
// - the `partitionKey` query option is ignored: filter on the partition key in the SQL text instead;
// - no TTL expiry and no change feed.
import https from 'node:https';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createHttpsServer } from '@vercel/cosmosdb-server';
import type { CosmosClientOptions } from '@azure/cosmos';

export interface CosmosHandle {
  endpoint: string;
  /** The server accepts any key; the client still signs requests, so this is a random well-formed one. */
  key: string;
  stop(): Promise<void>;
}

export async function startCosmos(): Promise<CosmosHandle> {
  // keepAlive: without it the server answers every request with "connection: close".
  const server = createHttpsServer({ keepAlive: true } as https.ServerOptions);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= new Promise<void>((resolve, reject) => {
      server.close((err) => (err ? reject(err) : resolve()));
      // Idle keep-alive sockets would otherwise hold close() open until they time out.
      server.closeAllConnections();
    }));

  return { endpoint: `https://127.0.0.1:${port}/`, key: randomBytes(64).toString('base64'), stop };
}

/** Options that make a real CosmosClient talk to the local protocol server. */
export function localCosmosClientOptions(h: CosmosHandle): CosmosClientOptions {
  return {
    endpoint: h.endpoint,
    key: h.key,
    // Trust the server's self-signed certificate for this client only; never process-wide.
    agent: new https.Agent({ rejectUnauthorized: false, keepAlive: true }),
    connectionPolicy: {
      // The server advertises itself under its own address; discovery and background refresh would
      // only add requests (and timers that keep the process alive) for a single-region account.
      enableEndpointDiscovery: false,
      enableBackgroundEndpointRefreshing: false,
    },
  };
}
