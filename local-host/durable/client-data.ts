// The connection info the Durable extension hands to a durableClient input binding. The
// durable-functions DurableClient builds every management call from these URL templates, so
// they point at this host's management API and carry its system key.

export const DURABLE_WEBHOOK_PATH = '/runtime/webhooks/durabletask';
export const DURABLE_SYSTEM_KEY_NAME = 'durabletask_extension';

export interface DurableClientData {
  taskHubName: string;
  creationUrls: Record<string, string>;
  managementUrls: Record<string, string>;
  baseUrl: string;
  requiredQueryStringParameters: string;
}

export function durableClientData(origin: string, taskHubName: string, systemKey: string): DurableClientData {
  const base = `${origin}${DURABLE_WEBHOOK_PATH}`;
  const code = `code=${encodeURIComponent(systemKey)}`;
  const common = `taskHub=${encodeURIComponent(taskHubName)}&connection=Storage&${code}`;
  const instance = `${base}/instances/INSTANCEID`;
  return {
    taskHubName,
    creationUrls: {
      createNewInstancePostUri: `${base}/orchestrators/{functionName}[/{instanceId}]?${code}`,
      createAndWaitOnNewInstancePostUri: `${base}/orchestrators/{functionName}[/{instanceId}]?timeout={timeoutInSeconds}&pollingInterval={intervalInSeconds}&${code}`,
    },
    managementUrls: {
      id: 'INSTANCEID',
      statusQueryGetUri: `${instance}?${common}`,
      sendEventPostUri: `${instance}/raiseEvent/{eventName}?${common}`,
      terminatePostUri: `${instance}/terminate?reason={text}&${common}`,
      rewindPostUri: `${instance}/rewind?reason={text}&${common}`,
      purgeHistoryDeleteUri: `${instance}?${common}`,
      restartPostUri: `${instance}/restart?${common}`,
      suspendPostUri: `${instance}/suspend?reason={text}&${common}`,
      resumePostUri: `${instance}/resume?reason={text}&${common}`,
    },
    baseUrl: base,
    requiredQueryStringParameters: code,
  };
}

/** The management payload for one instance, as createCheckStatusResponse returns it. */
export function managementPayload(data: DurableClientData, instanceId: string): Record<string, string> {
  const payload: Record<string, string> = {};
  for (const [key, template] of Object.entries(data.managementUrls)) {
    payload[key] = template.replace('INSTANCEID', encodeURIComponent(instanceId));
  }
  payload.id = instanceId;
  return payload;
}
