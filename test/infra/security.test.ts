// Least privilege and no secrets: who may do what, on which resource; identity-only access to
// storage and Cosmos DB; nothing secret in any output; the node scale sets and their network.
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { AGENT_ENV, poolQueueName, PRIORITY_BANDS } from '../../shared/agent-protocol.js';
import { scaleSetName } from '../../shared/ports/scale-set-provider.js';
import { Expr, valueAt, type BicepFile, type BicepResource } from './bicep.js';
import { allArmOutputs, allArmResources, bicepFiles, loadArm, loadBicep, readRepoFile, resolveModules } from './templates.js';
import { parseBicep } from './bicep.js';
import { readFileSync } from 'node:fs';

const arm = loadArm();
const resources = loadBicep('infra/resources.bicep');
const modules = new Map(resolveModules('infra/resources.bicep', resources).map((m) => [m.file.replace(/^infra\/app\//, ''), m]));
const rbac = modules.get('rbac.bicep')!;
const compute = modules.get('compute.bicep')!;
const data = modules.get('data.bicep')!;
const monitoring = modules.get('monitoring.bicep')!;

const ROLE = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b',
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe',
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88',
  storageQueueDataMessageProcessor: '8a0f0c08-91a1-4084-bc3d-661d67233fed',
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3',
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb',
  durableTaskDataContributor: '0ad04412-c4d5-4796-b79c-f76d14c8d402',
  virtualMachineContributor: '9980e02c-c2be-4d73-94e8-173b1dc7cf3c',
  managedIdentityOperator: 'f1a07417-d97a-45cb-824c-7a7467783830',
};

/** A role assignment as granted: who (principal parameter), which role, on which resource type. */
interface Grant {
  principal: string;
  role: string;
  scopeType: string;
  conditional: boolean;
}

function variableValue(bicep: BicepFile, name: string): unknown {
  return bicep.variables.find((v) => v.name === name)?.value;
}

/** Resolves `roles.x` or a custom role definition symbol to a role id or a `custom:` marker. */
function roleOf(bicep: BicepFile, r: BicepResource): string {
  const text = String(valueAt(r.body, 'properties.roleDefinitionId'));
  const builtIn = /roleDefinitions', roles\.(\w+)\)$/.exec(text);
  if (builtIn) return (variableValue(bicep, 'roles') as Record<string, string>)[builtIn[1]!]!;
  const custom = /^(\w+)\.id$/.exec(text);
  if (custom) return `custom:${custom[1]}`;
  throw new Error(`unrecognised roleDefinitionId ${text}`);
}

function grants(bicep: BicepFile): Grant[] {
  const symbols = new Map(bicep.resources.map((r) => [r.symbol, r]));
  return bicep.resources
    .filter((r) => r.type === 'Microsoft.Authorization/roleAssignments')
    .map((r) => {
      const scope = String(r.body['scope']).replace(/\[\w+\]$/, '');
      return {
        principal: String(valueAt(r.body, 'properties.principalId')),
        role: roleOf(bicep, r),
        scopeType: symbols.get(scope)?.type ?? `unknown:${scope}`,
        conditional: valueAt(r.body, 'properties.condition') !== undefined,
      };
    });
}

const allGrants = [...grants(rbac.bicep), ...grants(compute.bicep)];
const granted = (principal: string) =>
  allGrants
    .filter((g) => g.principal === principal)
    .map((g) => `${g.role} on ${g.scopeType}${g.conditional ? ' (conditional)' : ''}`)
    .sort();

describe('role assignments', () => {
  it('hand each module the right identity', () => {
    for (const m of [rbac, compute]) {
      const params = m.call.body['params'] as Record<string, unknown>;
      expect(String(params['appPrincipalId'])).toBe('appIdentity.properties.principalId');
      if (m === rbac) expect(String(params['nodePrincipalId'])).toBe('nodeIdentity.properties.principalId');
    }
    expect(resources.resources.filter((r) => r.type === 'Microsoft.ManagedIdentity/userAssignedIdentities').map((r) => r.symbol).sort()).toEqual([
      'appIdentity',
      'nodeIdentity',
    ]);
  });

  it('let the function app run (storage, telemetry, Durable), manage only its scale sets, and nothing else', () => {
    expect(granted('appPrincipalId')).toEqual(
      [
        `${ROLE.storageBlobDataOwner} on Microsoft.Storage/storageAccounts/blobServices`,
        `${ROLE.storageQueueDataContributor} on Microsoft.Storage/storageAccounts/queueServices`,
        `${ROLE.storageTableDataContributor} on Microsoft.Storage/storageAccounts/tableServices`,
        `${ROLE.monitoringMetricsPublisher} on Microsoft.Insights/components`,
        `${ROLE.durableTaskDataContributor} on Microsoft.DurableTask/schedulers`,
        `${ROLE.virtualMachineContributor} on Microsoft.Compute/virtualMachineScaleSets`,
        `${ROLE.virtualMachineContributor} on Microsoft.Compute/virtualMachineScaleSets`,
        `${ROLE.virtualMachineContributor} on Microsoft.Network/virtualNetworks/subnets`,
        `${ROLE.managedIdentityOperator} on Microsoft.ManagedIdentity/userAssignedIdentities`,
      ].sort(),
    );
    // One assignment per scale set: both loops run over the pools, scoped to the loop's own scale set.
    for (const r of compute.bicep.resources.filter((x) => x.type === 'Microsoft.Authorization/roleAssignments' && x.loop)) {
      expect(r.loop).toBe('(pool, i) in poolNames');
      expect(String(r.body['scope'])).toMatch(/^(dedicated|spot)ScaleSets\[i\]$/);
    }
  });

  it('let a node take from pool queues, keep them leased, and write task outputs, and nothing else', () => {
    expect(granted('nodePrincipalId')).toEqual(
      [
        `${ROLE.storageQueueDataMessageProcessor} on Microsoft.Storage/storageAccounts/queueServices (conditional)`,
        'custom:nodeQueueLeaseRole on Microsoft.Storage/storageAccounts/queueServices (conditional)',
        `${ROLE.storageBlobDataContributor} on Microsoft.Storage/storageAccounts/blobServices/containers`,
      ].sort(),
    );
    const container = rbac.bicep.resources.find((r) => r.symbol === 'taskOutputContainer')!;
    expect(String(container.body['name'])).toBe('taskOutputContainerName');
    expect(String((rbac.call.body['params'] as Record<string, unknown>)['taskOutputContainerName'])).toBe('taskOutputContainerName');
    expect(resources.variables.find((v) => v.name === 'taskOutputContainerName')!.value).toBe('fnbatch-task-outputs');
  });

  it('give the custom node role only message update and put, assignable in its resource group alone', () => {
    const role = rbac.bicep.resources.find((r) => r.symbol === 'nodeQueueLeaseRole')!;
    expect(valueAt(role.body, 'properties.permissions.0.dataActions')).toEqual([
      'Microsoft.Storage/storageAccounts/queueServices/queues/messages/write',
      'Microsoft.Storage/storageAccounts/queueServices/queues/messages/add/action',
    ]);
    expect(valueAt(role.body, 'properties.permissions.0.actions')).toEqual([]);
    expect(String(valueAt(role.body, 'properties.assignableScopes.0'))).toBe('resourceGroup().id');
  });

  it('confine the node queue roles to pool queues, which exclude the runtime\'s and Durable Functions\' queues', () => {
    const condition = (name: string) => String(variableValue(rbac.bicep, name));
    const prefix = /StringStartsWith \\'([^\\]+)\\'/.exec(condition('nodeQueueCondition'))![1]!;
    expect(condition('nodeQueueCondition')).toContain("ActionMatches{\\'Microsoft.Storage/storageAccounts/queueServices/queues/messages/read\\'}");
    expect(condition('nodeQueueCondition')).toContain("ActionMatches{\\'Microsoft.Storage/storageAccounts/queueServices/queues/messages/process/action\\'}");
    expect(condition('nodeLeaseCondition')).toContain(`StringStartsWith \\'${prefix}\\'`);
    expect(condition('nodeLeaseCondition')).toContain(`StringLike \\'${prefix}*-poison\\'`);
    for (const pool of ['default', 'GPU_pool', 'render.farm-2']) {
      for (const band of PRIORITY_BANDS) {
        const queue = poolQueueName(pool, band);
        expect(queue.startsWith(prefix), queue).toBe(true);
      }
    }
    const hub = (JSON.parse(readRepoFile('host.json')) as { extensions: { durableTask: { hubName: string } } }).extensions.durableTask.hubName;
    for (const queue of [`${hub}-control-00`, `${hub}-workitems`, 'azure-webjobs-blobtrigger-x'])
      expect(queue.toLowerCase().startsWith(prefix), queue).toBe(false);
  });

  it('are scoped to resources and named with guid(), in Bicep and in azuredeploy.json', () => {
    for (const m of [rbac, compute]) {
      const symbols = new Map(m.bicep.resources.map((r) => [r.symbol, r]));
      for (const r of m.bicep.resources.filter((x) => x.type === 'Microsoft.Authorization/roleAssignments')) {
        expect(String(r.body['name']), r.symbol).toMatch(/^guid\(/);
        const scope = r.body['scope'];
        expect(scope, `${r.symbol} has no scope, so it would apply to the resource group`).toBeInstanceOf(Expr);
        expect(symbols.has(String(scope).replace(/\[\w+\]$/, '')), r.symbol).toBe(true);
        expect(String(scope)).not.toMatch(/resourceGroup\(\)|subscription\(\)/);
      }
    }
    const armAssignments = allArmResources(arm).filter((r) => r.type === 'Microsoft.Authorization/roleAssignments');
    expect(armAssignments.length).toBe(allGrants.length);
    for (const r of armAssignments) {
      expect(r.name).toMatch(/^\[guid\(/);
      expect(r.scope, r.name).toMatch(/^\[format\('Microsoft\.[A-Za-z]+\/[A-Za-z]+\/\{0\}/);
      expect(r.scope).not.toMatch(/resourceGroup\(\)|subscription\(\)/);
    }
  });

  it('scope the Cosmos DB data-plane assignment to the database', () => {
    const sql = rbac.bicep.resources.find((r) => r.type === 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments')!;
    expect(String(sql.body['name'])).toMatch(/^guid\(/);
    expect(String(valueAt(sql.body, 'properties.scope'))).toBe("'${cosmos.id}/dbs/${cosmosDatabaseName}'");
    expect(String(valueAt(sql.body, 'properties.roleDefinitionId'))).toContain('/sqlRoleDefinitions/');
    expect(variableValue(rbac.bicep, 'cosmosDataContributorRoleId')).toBe('00000000-0000-0000-0000-000000000002');
    const armSql = allArmResources(arm).find((r) => r.type === 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments')!;
    expect((armSql.properties as { scope: string }).scope).toMatch(/\/dbs\/\{1\}', resourceId\('Microsoft\.DocumentDB\/databaseAccounts'/);
  });
});

describe('secrets', () => {
  const secretPattern = /\blist[A-Z]\w*\(|listKeys|AccountKey|SharedAccessKey|connectionString|ConnectionString|primaryKey|masterKey|functionKeys|password/i;

  it('no Bicep output is secure or reads a key or connection string', () => {
    for (const file of bicepFiles()) {
      for (const o of parseBicep(readFileSync(file, 'utf8')).outputs) {
        expect(o.secure, `${file}: ${o.name}`).toBe(false);
        expect(bicepCode(o.text), `${file}: ${o.name}`).not.toMatch(secretPattern);
      }
    }
  });

  it('no output of azuredeploy.json reads a key or connection string', () => {
    const outputs = allArmOutputs(arm);
    expect(outputs.length).toBeGreaterThan(5);
    for (const o of outputs) {
      expect(o.type.toLowerCase(), o.name).not.toMatch(/^secure/);
      expect(armCode(JSON.stringify(o.value)), o.name).not.toMatch(secretPattern);
    }
  });

  it('the secret check looks at code, not at words in strings', () => {
    expect(bicepCode("'keys: ${storage.listKeys().keys[0].value}'")).toMatch(secretPattern);
    expect(bicepCode("'az functionapp keys list --query functionKeys.default'")).not.toMatch(secretPattern);
    expect(armCode("[format('{0}', listKeys(parameters('x'), '2020-01-01').keys[0].value)]")).toMatch(secretPattern);
  });

  it('the API output tells how to get a key, as a command', () => {
    const command = resources.outputs.find((o) => o.name === 'API_CREDENTIAL_COMMAND')!;
    expect(command.text).toContain('az functionapp keys list');
    expect(command.text).toContain('az account get-access-token');
  });

  it('the agent key reaches nodes only through cloud-init', () => {
    const uses = compute.bicep.resources.filter((r) => r.bodyText.includes('listKeys('));
    expect(uses.map((r) => r.symbol).sort()).toEqual(['dedicatedScaleSets', 'spotScaleSets']);
    for (const r of uses) expect(String(valueAt(r.body, 'properties.virtualMachineProfile.osProfile.customData'))).toContain('listKeys(');
  });
});

describe('identity-only data access', () => {
  it('storage refuses shared keys', () => {
    const storage = data.bicep.resources.find((r) => r.type === 'Microsoft.Storage/storageAccounts')!;
    expect(valueAt(storage.body, 'properties.allowSharedKeyAccess')).toBe(false);
    expect(valueAt(storage.body, 'properties.allowBlobPublicAccess')).toBe(false);
    const armStorage = allArmResources(arm).find((r) => r.type === 'Microsoft.Storage/storageAccounts')!;
    expect((armStorage.properties as { allowSharedKeyAccess: boolean }).allowSharedKeyAccess).toBe(false);
  });

  it('Cosmos DB refuses keys, and Application Insights too', () => {
    const cosmos = data.bicep.resources.find((r) => r.type === 'Microsoft.DocumentDB/databaseAccounts')!;
    expect(valueAt(cosmos.body, 'properties.disableLocalAuth')).toBe(true);
    const insights = monitoring.bicep.resources.find((r) => r.type === 'Microsoft.Insights/components')!;
    expect(valueAt(insights.body, 'properties.DisableLocalAuth')).toBe(true);
    const armCosmos = allArmResources(arm).find((r) => r.type === 'Microsoft.DocumentDB/databaseAccounts')!;
    expect((armCosmos.properties as { disableLocalAuth: boolean }).disableLocalAuth).toBe(true);
  });

  it('Cosmos DB is serverless by default and holds the app\'s containers with their partition keys', () => {
    expect(resources.params.find((p) => p.name === 'cosmosCapacityMode')!.defaultValue).toBe('serverless');
    expect(variableValue(data.bicep, 'cosmosContainers')).toEqual([
      { name: 'jobs', partitionKey: '/id' },
      { name: 'tasks', partitionKey: '/jobId' },
      { name: 'pools', partitionKey: '/id' },
      { name: 'nodes', partitionKey: '/poolId' },
    ]);
    expect(resources.variables.find((v) => v.name === 'cosmosDatabaseName')!.value).toBe('fnbatch');
  });
});

describe('compute nodes', () => {
  const scaleSets = compute.bicep.resources.filter((r) => r.type === 'Microsoft.Compute/virtualMachineScaleSets');

  it('are two Flexible scale sets per pool, starting at zero, the Spot one with Spot priority', () => {
    expect(scaleSets.map((r) => r.symbol).sort()).toEqual(['dedicatedScaleSets', 'spotScaleSets']);
    for (const r of scaleSets) {
      expect(r.loop).toBe('pool in poolNames');
      expect(valueAt(r.body, 'sku.capacity')).toBe(0);
      expect(valueAt(r.body, 'properties.orchestrationMode')).toBe('Flexible');
      expect(valueAt(r.body, 'identity.type')).toBe('UserAssigned');
    }
    const spot = scaleSets.find((r) => r.symbol === 'spotScaleSets')!;
    const dedicated = scaleSets.find((r) => r.symbol === 'dedicatedScaleSets')!;
    expect(valueAt(spot.body, 'properties.virtualMachineProfile.priority')).toBe('Spot');
    expect(valueAt(spot.body, 'properties.virtualMachineProfile.evictionPolicy')).toBe('Delete');
    expect(valueAt(dedicated.body, 'properties.virtualMachineProfile.priority')).toBe('Regular');
    for (const r of allArmResources(arm).filter((x) => x.type === 'Microsoft.Compute/virtualMachineScaleSets')) {
      expect((r['sku'] as { capacity: number }).capacity).toBe(0);
      expect((r.properties as { orchestrationMode: string }).orchestrationMode).toBe('Flexible');
    }
  });

  it('are named as scaleSetName() names them', () => {
    for (const [symbol, priority] of [
      ['dedicatedScaleSets', 'dedicated'],
      ['spotScaleSets', 'lowPriority'],
    ] as const) {
      const name = String(scaleSets.find((r) => r.symbol === symbol)!.body['name']);
      const m = /^'\$\{scaleSetPrefix\}-\$\{(.+)\}-(dedicated|spot)'$/.exec(name);
      expect(m, name).not.toBeNull();
      // Evaluate the slug: toLower(pool) then the replace() chain, innermost first.
      const replacements = [...m![1]!.matchAll(/, '([^']*)', '([^']*)'\)/g)].map((r) => [r[1]!, r[2]!] as const);
      expect(m![1]).toMatch(/^(replace\()+toLower\(pool\)/);
      const slug = (pool: string) => replacements.reduce((s, [from, to]) => s.split(from).join(to), pool.toLowerCase());
      for (const pool of ['default', 'GPU_pool', 'render.farm-2', 'Big Pool'])
        expect(`fnbatch-${slug(pool)}-${m![2]}`).toBe(scaleSetName('fnbatch', pool, priority));
    }
    const prefix = (compute.call.body['params'] as Record<string, unknown>)['scaleSetPrefix'];
    expect(String(prefix)).toBe('prefix');
  });

  it('sit in a subnet with no inbound access from the internet', () => {
    const nsg = compute.bicep.resources.find((r) => r.type === 'Microsoft.Network/networkSecurityGroups')!;
    const rules = valueAt(nsg.body, 'properties.securityRules') as { properties: Record<string, unknown> }[];
    expect(rules.some((r) => r.properties['direction'] === 'Inbound' && r.properties['access'] === 'Deny' && r.properties['sourceAddressPrefix'] === 'Internet')).toBe(true);
    expect(rules.some((r) => r.properties['direction'] === 'Inbound' && r.properties['access'] === 'Allow')).toBe(false);
    const vnet = compute.bicep.resources.find((r) => r.type === 'Microsoft.Network/virtualNetworks')!;
    expect(String(valueAt(vnet.body, 'properties.subnets.0.properties.networkSecurityGroup.id'))).toBe('nsg.id');
    for (const r of scaleSets) {
      const ipConfig = valueAt(r.body, 'properties.virtualMachineProfile.networkProfile.networkInterfaceConfigurations.0.properties.ipConfigurations.0.properties') as Record<string, unknown>;
      expect(Object.keys(ipConfig)).toEqual(['subnet']);
    }
    expect(compute.bicep.resources.some((r) => r.type === 'Microsoft.Network/loadBalancers')).toBe(false);
  });

  it('boot with cloud-init that installs and starts the agent with the AGENT_ENV settings', () => {
    const text = readRepoFile('infra/app/node-cloud-init.yaml');
    expect(text.split('\n')[0]).toBe('#cloud-config');
    const config = parseYaml(text) as {
      write_files: { path: string; permissions: string; content: string }[];
      runcmd: string[][];
      packages: string[];
    };
    const env = config.write_files.find((f) => f.path.endsWith('.env'))!;
    expect(env.permissions).toBe('0600');
    const keys = env.content.trim().split('\n').map((l) => l.split('=')[0]);
    for (const key of [AGENT_ENV.endpoint, AGENT_ENV.key, AGENT_ENV.poolId, AGENT_ENV.isDedicated, AGENT_ENV.taskSlots, AGENT_ENV.storage, 'AZURE_CLIENT_ID'])
      expect(keys).toContain(key);
    const script = config.write_files.find((f) => f.path === config.runcmd[0]![1])!;
    expect(script.content).toMatch(/install-agent\.sh --package \S+ --env-file \S+\.env/);
    // Every placeholder filled, and format() gets exactly that many values.
    const placeholders = [...new Set([...text.matchAll(/\{(\d+)\}/g)].map((m) => Number(m[1])))].sort((a, b) => a - b);
    expect(placeholders).toEqual([...placeholders.keys()]);
    expect(text.replace(/\{\d+\}/g, '')).not.toMatch(/[{}]/);
    for (const r of scaleSets) {
      const customData = String(valueAt(r.body, 'properties.virtualMachineProfile.osProfile.customData'));
      expect(customData).toMatch(/^base64\(format\(cloudInitTemplate, /);
      expect(topLevelArgs(customData.slice('base64(format('.length, -2)).length).toBe(placeholders.length + 1);
      expect(customData).toContain(r.symbol === 'spotScaleSets' ? ", pool, 'false'," : ", pool, 'true',");
    }
    expect(String(variableValue(compute.bicep, 'cloudInitTemplate'))).toBe("loadTextContent('node-cloud-init.yaml')");
  });
});

/** A Bicep expression with the literal text of its strings blanked out (interpolations kept). */
function bicepCode(text: string): string {
  let out = '';
  let inString = false;
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString && depth === 0) {
      if (c === '\\') i++;
      else if (c === "'") inString = false;
      else if (c === '$' && text[i + 1] === '{') {
        depth = 1;
        i++;
      }
      out += ' ';
      continue;
    }
    if (inString) {
      if (c === '{') depth++;
      else if (c === '}') depth--;
      out += depth === 0 ? ' ' : c;
      continue;
    }
    if (c === "'") inString = true;
    out += inString ? ' ' : c;
  }
  return out;
}

/** An ARM expression with its string literals ('' escapes a quote) blanked out. */
function armCode(text: string): string {
  return text.replace(/'(?:[^']|'')*'/g, "''");
}

/** Splits a call's argument list at top-level commas. */
function topLevelArgs(text: string): string[] {
  const args: string[] = [];
  let depth = 0;
  let start = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      if (c === '\\') i++;
      else if (c === "'") inString = false;
      continue;
    }
    if (c === "'") inString = true;
    else if ('([{'.includes(c)) depth++;
    else if (')]}'.includes(c)) depth--;
    else if (c === ',' && depth === 0) {
      args.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  args.push(text.slice(start).trim());
  return args;
}
