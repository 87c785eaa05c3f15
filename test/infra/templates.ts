// Loads the infra templates for the tests: every Bicep file parsed, the resource-group module with
// its modules resolved, and the hand-compiled ARM template (azuredeploy.json) walked alongside.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseBicep, type BicepFile, type BicepModule } from './bicep.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const infraDir = path.join(repoRoot, 'infra');

export function readRepoFile(relative: string): string {
  return readFileSync(path.join(repoRoot, relative), 'utf8');
}

export function bicepFiles(dir = infraDir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return bicepFiles(full);
    return entry.name.endsWith('.bicep') ? [full] : [];
  });
}

export function loadBicep(relative: string): BicepFile {
  return parseBicep(readRepoFile(relative));
}

/** A Bicep module call resolved to its file, with the deployment name it is given. */
export interface ResolvedModule {
  call: BicepModule;
  /** Repository-relative path of the module file. */
  file: string;
  deploymentName: string;
  bicep: BicepFile;
}

export function resolveModules(fromFile: string, bicep: BicepFile): ResolvedModule[] {
  return bicep.modules.map((call) => {
    const file = path.posix.join(path.posix.dirname(fromFile), call.path);
    const name = call.body['name'];
    if (typeof name !== 'string') throw new Error(`module ${call.symbol} in ${fromFile} has no literal deployment name`);
    return { call, file, deploymentName: name, bicep: loadBicep(file) };
  });
}

// --- ARM

export interface ArmParameter {
  type: string;
  defaultValue?: unknown;
  allowedValues?: unknown[];
  minValue?: number;
  maxValue?: number;
  minLength?: number;
  maxLength?: number;
  metadata?: { description?: string };
}

export interface ArmResource {
  type: string;
  apiVersion: string;
  name: string;
  scope?: string;
  condition?: string;
  copy?: { name: string; count: string };
  properties?: Record<string, unknown> & {
    template?: ArmTemplate;
    parameters?: Record<string, { value: unknown }>;
  };
  dependsOn?: string[];
  [key: string]: unknown;
}

export interface ArmTemplate {
  parameters?: Record<string, ArmParameter>;
  variables?: Record<string, unknown>;
  resources: ArmResource[];
  outputs?: Record<string, { type: string; value: unknown }>;
}

export function loadArm(): ArmTemplate {
  return JSON.parse(readRepoFile('azuredeploy.json')) as ArmTemplate;
}

/** The nested template a module compiles to, found by its deployment name. */
export function nestedTemplate(arm: ArmTemplate, deploymentName: string): ArmTemplate {
  const deployment = arm.resources.find((r) => r.type === 'Microsoft.Resources/deployments' && r.name === deploymentName);
  if (!deployment?.properties?.template) throw new Error(`azuredeploy.json has no nested deployment ${deploymentName}`);
  return deployment.properties.template;
}

/** Every resource in a template and its nested deployments. */
export function allArmResources(arm: ArmTemplate): ArmResource[] {
  return arm.resources.flatMap((r) => [r, ...(r.properties?.template ? allArmResources(r.properties.template) : [])]);
}

/** Every output of a template and its nested deployments, with the template it belongs to. */
export function allArmOutputs(arm: ArmTemplate): { name: string; type: string; value: unknown }[] {
  const own = Object.entries(arm.outputs ?? {}).map(([name, o]) => ({ name, ...o }));
  return [...own, ...arm.resources.flatMap((r) => (r.properties?.template ? allArmOutputs(r.properties.template) : []))];
}

/** Bicep parameter type as ARM spells it. */
export function armTypeOf(type: string, secure: boolean): string {
  if (!secure) return type;
  return type === 'object' ? 'secureObject' : 'securestring';
}

export function squash(expression: string): string {
  return expression.replace(/\s+/g, '');
}
