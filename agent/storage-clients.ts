// The agent's Storage clients. Locally FNBATCH_STORAGE is a connection string (Azurite); on Azure it
// names the account (name or a service URL) and the node's managed identity signs in through
// DefaultAzureCredential (which honours AZURE_CLIENT_ID for a user-assigned identity).
import { BlobServiceClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import { AgentConfigError } from './config.js';

export interface StorageClients {
  queues: QueueServiceClient;
  blobs: BlobServiceClient;
}

export async function createStorageClients(storage: string): Promise<StorageClients> {
  if (isConnectionString(storage)) {
    return {
      queues: QueueServiceClient.fromConnectionString(storage),
      blobs: BlobServiceClient.fromConnectionString(storage),
    };
  }
  const { queueUrl, blobUrl } = accountUrls(storage);
  // Loaded only here: @azure/identity is large (about a tenth of the agent's memory and start-up),
  // and a local node, signing with a connection string, never needs it. A smaller process also
  // forks its task processes faster.
  const { DefaultAzureCredential } = await import('@azure/identity');
  const credential = new DefaultAzureCredential();
  return { queues: new QueueServiceClient(queueUrl, credential), blobs: new BlobServiceClient(blobUrl, credential) };
}

function isConnectionString(value: string): boolean {
  return /(^|;)\s*(AccountName|QueueEndpoint|UseDevelopmentStorage)\s*=/i.test(value);
}

/** An account name, or any of its service URLs (https://acct.queue.core.windows.net/...), gives both endpoints. */
export function accountUrls(storage: string): { queueUrl: string; blobUrl: string } {
  if (/^[a-z0-9]{3,24}$/.test(storage)) {
    return { queueUrl: `https://${storage}.queue.core.windows.net`, blobUrl: `https://${storage}.blob.core.windows.net` };
  }
  let url: URL;
  try {
    url = new URL(storage);
  } catch {
    throw new AgentConfigError(`FNBATCH_STORAGE is neither a connection string, an account name nor a URL`);
  }
  const match = /^([a-z0-9]{3,24})\.(queue|blob|table|file|dfs)\.(.+)$/.exec(url.hostname);
  if (url.protocol !== 'https:' || !match) {
    throw new AgentConfigError(`FNBATCH_STORAGE URL must look like https://<account>.queue.core.windows.net`);
  }
  const [, account, , suffix] = match;
  return { queueUrl: `https://${account}.queue.${suffix}`, blobUrl: `https://${account}.blob.${suffix}` };
}
