// The function app's settings match APP_SETTINGS; the portal form (createUiDefinition.json) asks
// for what the template needs and hands over only what it accepts; the Durable provider switch.
import { describe, expect, it } from 'vitest';
import { APP_SETTINGS } from '../../shared/config/app-settings.js';
import { Expr, valueAt } from './bicep.js';
import { loadArm, loadBicep, nestedTemplate, readRepoFile, resolveModules } from './templates.js';

const arm = loadArm();
const resources = loadBicep('infra/resources.bicep');
const functionModule = resolveModules('infra/resources.bicep', resources).find((m) => m.file === 'infra/app/function.bicep')!;
const fn = functionModule.bicep;
const site = fn.resources.find((r) => r.type === 'Microsoft.Web/sites')!;

// Flex Consumption refuses FUNCTIONS_WORKER_RUNTIME as an app setting (it is
// functionAppConfig.runtime.name there); checked separately below.
const REPLACED_ON_FLEX = new Set(['FUNCTIONS_WORKER_RUNTIME']);
// Written only with the Durable Task Scheduler: read by the Functions host and the Durable
// extension (host.json overrides and the connection they name), not by the app's code.
const DURABLE_TASK_SCHEDULER_HOST_SETTINGS = new Set([
  'AzureFunctionsJobHost__extensions__durableTask__storageProvider__type',
  'AzureFunctionsJobHost__extensions__durableTask__storageProvider__connectionStringName',
  'DURABLE_TASK_SCHEDULER_CONNECTION_STRING',
]);

const azureSettings = APP_SETTINGS.filter((s) => s.where === 'azure' || s.where === 'both');
const requiredOnAzure = azureSettings.filter((s) => s.required && !REPLACED_ON_FLEX.has(s.name)).map((s) => s.name);
const allowedOnAzure = new Set(azureSettings.map((s) => s.name));

function namesIn(value: unknown): string[] {
  return (value as { name: string }[]).map((s) => s.name);
}

/** Setting names written in Bicep: the settings variable plus those listed inline in the site. */
function bicepSettings(): { always: string[]; durableTaskScheduler: string[] } {
  const expression = valueAt(site.body, 'properties.siteConfig.appSettings');
  expect(expression).toBeInstanceOf(Expr);
  const text = String(expression);
  expect(text).toMatch(/^concat\(\s*appSettings,/);
  expect(text).toContain("durableStorageProvider == 'durableTaskScheduler' ? durableTaskSchedulerSettings : []");
  const inline = [...text.matchAll(/name: '([^']+)'/g)].map((m) => m[1]!);
  const variable = (name: string) => namesIn(fn.variables.find((v) => v.name === name)!.value);
  return { always: [...variable('appSettings'), ...inline], durableTaskScheduler: variable('durableTaskSchedulerSettings') };
}

function armSettings(): { always: string[]; durableTaskScheduler: string[] } {
  const template = nestedTemplate(arm, functionModule.deploymentName);
  const armSite = template.resources.find((r) => r.type === 'Microsoft.Web/sites')!;
  const expression = (armSite.properties as { siteConfig: { appSettings: string } }).siteConfig.appSettings;
  const inline = [...expression.matchAll(/createObject\('name', '([^']+)'/g)].map((m) => m[1]!);
  return {
    always: [...namesIn(template.variables!['appSettings']), ...inline],
    durableTaskScheduler: namesIn(template.variables!['durableTaskSchedulerSettings']),
  };
}

describe('function app settings', () => {
  it.each([
    ['Bicep', bicepSettings],
    ['azuredeploy.json', armSettings],
  ])('%s writes every required Azure setting, only declared ones, and no duplicates', (_where, read) => {
    const { always, durableTaskScheduler } = read();
    expect(new Set(always).size).toBe(always.length);
    for (const name of requiredOnAzure) expect(always, name).toContain(name);
    for (const name of always) expect(allowedOnAzure.has(name) && !REPLACED_ON_FLEX.has(name), `${name} is not an Azure app setting in APP_SETTINGS`).toBe(true);
    expect(new Set(durableTaskScheduler)).toEqual(DURABLE_TASK_SCHEDULER_HOST_SETTINGS);
  });

  it('writes no local-only setting (no storage connection string, no Cosmos key)', () => {
    for (const s of APP_SETTINGS.filter((x) => x.where === 'local')) expect(bicepSettings().always).not.toContain(s.name);
  });

  it('runs Node 20 on Flex Consumption with the app identity, instead of FUNCTIONS_WORKER_RUNTIME', () => {
    expect(valueAt(site.body, 'properties.functionAppConfig.runtime')).toEqual({ name: 'node', version: '20' });
    expect(valueAt(site.body, 'properties.functionAppConfig.deployment.storage.authentication.type')).toBe('UserAssignedIdentity');
    const plan = fn.resources.find((r) => r.type === 'Microsoft.Web/serverfarms')!;
    expect(valueAt(plan.body, 'sku')).toEqual({ tier: 'FlexConsumption', name: 'FC1' });
    expect(valueAt(site.body, 'identity.type')).toBe('UserAssigned');
  });

  it('points the scale-set provider at Azure and names settings with fixed values right', () => {
    const values = new Map((fn.variables.find((v) => v.name === 'appSettings')!.value as { name: string; value: unknown }[]).map((s) => [s.name, s.value]));
    expect(values.get('FNBATCH_SCALE_SET_PROVIDER')).toBe('azure');
    expect(values.get('AzureWebJobsStorage__credential')).toBe('managedidentity');
    expect(String(values.get('AzureWebJobsStorage__clientId'))).toBe(String(values.get('AZURE_CLIENT_ID')));
  });

  it('switches Durable Functions to the Durable Task Scheduler only when asked, with identity auth', () => {
    const provider = resources.params.find((p) => p.name === 'durableStorageProvider')!;
    expect(provider.defaultValue).toBe('azureStorage');
    expect(provider.allowed).toEqual(['azureStorage', 'durableTaskScheduler']);
    const connection = (fn.variables.find((v) => v.name === 'durableTaskSchedulerSettings')!.value as { name: string; value: unknown }[]).find(
      (s) => s.name === 'DURABLE_TASK_SCHEDULER_CONNECTION_STRING',
    )!;
    expect(String(connection.value)).toContain('Authentication=ManagedIdentity');
    const hostJson = JSON.parse(readRepoFile('host.json')) as { extensions: { durableTask: { hubName: string } } };
    expect(resources.variables.find((v) => v.name === 'taskHubName')!.value).toBe(hostJson.extensions.durableTask.hubName);
  });
});

interface UiElement {
  name: string;
  type: string;
  defaultValue?: unknown;
  min?: number;
  max?: number;
  constraints?: { allowedValues?: { value: unknown }[]; allowedSizes?: string[]; regex?: string };
  elements?: UiElement[];
}

describe('createUiDefinition.json', () => {
  const ui = JSON.parse(readRepoFile('createUiDefinition.json')) as {
    handler: string;
    parameters: { basics: UiElement[]; steps: UiElement[]; outputs: Record<string, string> };
  };
  const params = arm.parameters!;
  const elements = [...ui.parameters.basics, ...ui.parameters.steps.flatMap((s) => s.elements ?? [])];
  const element = (name: string) => elements.find((e) => e.name === name);

  it('hands over every required parameter and only parameters the template has', () => {
    expect(ui.handler).toBe('Microsoft.Azure.CreateUIDef');
    const outputs = Object.keys(ui.parameters.outputs);
    for (const name of outputs) expect(params, name).toHaveProperty(name);
    const required = Object.entries(params).filter(([, p]) => !('defaultValue' in p)).map(([name]) => name);
    expect(required).toEqual(['nodeSshPublicKey']);
    for (const name of required) expect(outputs).toContain(name);
  });

  it('reads each output from an element that exists', () => {
    for (const [name, expression] of Object.entries(ui.parameters.outputs)) {
      for (const m of expression.matchAll(/(?:steps\('(\w+)'\)|basics\(')\.?(\w+)/g)) {
        const [, step, field] = m;
        if (step) {
          const s = ui.parameters.steps.find((x) => x.name === step);
          expect(s, `${name}: step ${step}`).toBeDefined();
          expect(s!.elements!.map((e) => e.name), `${name}: ${step}.${field}`).toContain(field);
        } else {
          expect(element(field!), `${name}: basics ${field}`).toBeDefined();
        }
      }
    }
  });

  it('offers only values the template allows, within its bounds, with its defaults', () => {
    for (const e of elements) {
      const p = params[e.name];
      if (!p) continue;
      if (e.constraints?.allowedValues) expect(p.allowedValues, e.name).toEqual(e.constraints.allowedValues.map((v) => v.value));
      if (e.type === 'Microsoft.Common.Slider') {
        expect(e.min, e.name).toBeGreaterThanOrEqual(p.minValue!);
        expect(e.max, e.name).toBeLessThanOrEqual(p.maxValue!);
        expect(e.defaultValue, e.name).toBe(p.defaultValue);
      }
      if (e.type === 'Microsoft.Common.TextBox' && typeof p.defaultValue === 'string' && p.defaultValue) expect(e.defaultValue, e.name).toBe(p.defaultValue);
    }
    const sizes = element('nodeVmSize')!.constraints!.allowedSizes!;
    expect(sizes).toEqual(params['nodeVmSize']!.allowedValues);
    expect(ui.parameters.outputs['poolNames']).toMatch(/^\[split\(/);
  });

  it('validates names the way the template and scaleSetName need', () => {
    const prefix = new RegExp(element('namePrefix')!.constraints!.regex!);
    expect(prefix.test('fnbatch')).toBe(true);
    expect(prefix.test('FnBatch')).toBe(false);
    expect(prefix.test('ab')).toBe(false);
    expect(prefix.test('a'.repeat(13))).toBe(false);
    const pools = new RegExp(element('poolNames')!.constraints!.regex!);
    expect(pools.test('default')).toBe(true);
    expect(pools.test('default,gpu-2')).toBe(true);
    expect(pools.test('default, gpu')).toBe(false);
    expect(pools.test('GPU')).toBe(false);
  });
});

describe('deploy button', () => {
  it('the README text links the portal to the raw template and form', () => {
    const text = readRepoFile('infra/DEPLOY.md');
    const raw = (file: string) => encodeURIComponent(`https://raw.githubusercontent.com/fnbatch/fnbatch/main/${file}`);
    expect(text).toContain(
      `https://portal.azure.com/#create/Microsoft.Template/uri/${raw('azuredeploy.json')}/createUIDefinitionUri/${raw('createUiDefinition.json')}`,
    );
  });
});
