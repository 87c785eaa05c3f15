// Every app setting the fnbatch Functions app reads, in one list: the Bicep templates must write
// exactly these (a test compares the two), so a deployed app never fails for a missing setting.
// `where` says which environments set it: 'azure' (written by infra/), 'local' (the local host
// or local.settings.json), or both.

export interface AppSettingSpec {
  name: string;
  where: 'azure' | 'local' | 'both';
  /** Required in the environments named by `where`. */
  required: boolean;
  description: string;
}

export const APP_SETTINGS: readonly AppSettingSpec[] = [
  { name: 'FUNCTIONS_WORKER_RUNTIME', where: 'both', required: true, description: 'Always "node".' },
  { name: 'AzureWebJobsStorage', where: 'local', required: true, description: 'Storage connection string (Azurite locally).' },
  { name: 'AzureWebJobsStorage__accountName', where: 'azure', required: true, description: 'Storage account for the Functions runtime, Durable Functions, task queues and task outputs, reached with the managed identity.' },
  { name: 'AzureWebJobsStorage__credential', where: 'azure', required: true, description: 'Always "managedidentity".' },
  { name: 'AzureWebJobsStorage__clientId', where: 'azure', required: true, description: 'Client id of the app\'s user-assigned identity.' },
  { name: 'AZURE_CLIENT_ID', where: 'azure', required: true, description: 'Client id of the app\'s user-assigned identity, for DefaultAzureCredential (Cosmos DB, ARM).' },
  { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', where: 'azure', required: false, description: 'Application Insights; the app authenticates with its identity (local auth off).' },
  { name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', where: 'azure', required: false, description: 'Authorization=AAD;ClientId=<identity> so telemetry needs no key.' },
  { name: 'COSMOS_ENDPOINT', where: 'both', required: true, description: 'Cosmos DB account endpoint.' },
  { name: 'COSMOS_KEY', where: 'local', required: false, description: 'Local protocol server only; on Azure the identity is used (local auth off).' },
  { name: 'COSMOS_DATABASE', where: 'both', required: false, description: 'Database name, default "fnbatch".' },
  { name: 'FNBATCH_SCALE_SET_PROVIDER', where: 'both', required: false, description: '"azure" (VM scale sets) or "local" (agent processes); default "local".' },
  { name: 'FNBATCH_SUBSCRIPTION_ID', where: 'azure', required: true, description: 'Subscription holding the node scale sets.' },
  { name: 'FNBATCH_RESOURCE_GROUP', where: 'azure', required: true, description: 'Resource group holding the node scale sets.' },
  { name: 'FNBATCH_LOCATION', where: 'azure', required: true, description: 'Region for new scale sets.' },
  { name: 'FNBATCH_SCALE_SET_PREFIX', where: 'azure', required: true, description: 'Prefix of the node scale set names: <prefix>-<pool>-dedicated and <prefix>-<pool>-spot.' },
  { name: 'FNBATCH_NODE_SUBNET_ID', where: 'azure', required: true, description: 'Subnet for node VMs (no inbound access from the internet).' },
  { name: 'FNBATCH_NODE_IDENTITY_ID', where: 'azure', required: true, description: 'Resource id of the nodes\' user-assigned identity.' },
  { name: 'FNBATCH_NODE_IDENTITY_CLIENT_ID', where: 'azure', required: true, description: 'Client id of the nodes\' identity, handed to the agent.' },
  { name: 'FNBATCH_MAX_DEDICATED_NODES', where: 'both', required: false, description: 'Upper bound on dedicated nodes per pool.' },
  { name: 'FNBATCH_MAX_SPOT_NODES', where: 'both', required: false, description: 'Upper bound on Spot (low-priority) nodes per pool.' },
  { name: 'FNBATCH_AGENT_PACKAGE_URL', where: 'azure', required: true, description: 'Release package the node cloud-init installs the agent from.' },
  { name: 'FNBATCH_API_AUTH', where: 'both', required: false, description: '"keys" (function keys, default) or "entra" (Microsoft Entra ID in front of the API).' },
];

export function settingNames(where: 'azure' | 'local'): string[] {
  return APP_SETTINGS.filter((s) => s.where === where || s.where === 'both').map((s) => s.name);
}

/** Reads a setting the app declared; undefined when unset. */
export function readSetting(name: (typeof APP_SETTINGS)[number]['name'], env: NodeJS.ProcessEnv = process.env): string | undefined {
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
}
