// The Bicep templates parse, and azuredeploy.json (the hand-compiled resources.bicep) agrees with
// them: parameters, resource types and API versions, and outputs, module by module.
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Expr, parseBicep, parseValue, type BicepFile } from './bicep.js';
import {
  allArmResources,
  armTypeOf,
  bicepFiles,
  infraDir,
  loadArm,
  loadBicep,
  nestedTemplate,
  readRepoFile,
  resolveModules,
  squash,
  type ArmTemplate,
} from './templates.js';

const arm = loadArm();
const resources = loadBicep('infra/resources.bicep');
const modules = resolveModules('infra/resources.bicep', resources);

/** (Bicep file, its compiled template) pairs: the resource-group module and each of its modules. */
const pairs: { file: string; bicep: BicepFile; template: ArmTemplate }[] = [
  { file: 'infra/resources.bicep', bicep: resources, template: arm },
  ...modules.map((m) => ({ file: m.file, bicep: m.bicep, template: nestedTemplate(arm, m.deploymentName) })),
];

function resourceTypes(bicep: BicepFile): string[] {
  const own = bicep.resources.filter((r) => !r.existing).map((r) => `${r.type}@${r.apiVersion}`);
  const calls = bicep.modules.map(() => 'Microsoft.Resources/deployments@2022-09-01');
  return [...own, ...calls].sort();
}

describe('Bicep files', () => {
  it('finds the azd layout', () => {
    const names = bicepFiles().map((f) => path.relative(infraDir, f).split(path.sep).join('/')).sort();
    expect(names).toEqual(
      expect.arrayContaining(['main.bicep', 'resources.bicep', 'app/function.bicep', 'app/data.bicep', 'app/compute.bicep', 'app/monitoring.bicep', 'app/rbac.bicep']),
    );
    expect(() => JSON.parse(readRepoFile('infra/abbreviations.json'))).not.toThrow();
  });

  it.each(bicepFiles().map((f) => [path.relative(infraDir, f)]))('%s parses, with a description on every parameter', (file) => {
    const bicep = parseBicep(readFileSync(path.join(infraDir, file), 'utf8'));
    expect(bicep.params.length).toBeGreaterThan(0);
    for (const p of bicep.params) expect(p.description, `${file}: ${p.name}`).toBeTruthy();
    for (const r of bicep.resources) expect(r.apiVersion, `${file}: ${r.symbol}`).toMatch(/^\d{4}-\d{2}-\d{2}(-preview)?$/);
  });

  it('main.bicep creates the resource group and deploys resources.bicep into it', () => {
    const main = loadBicep('infra/main.bicep');
    expect(main.targetScope).toBe('subscription');
    expect(main.resources.map((r) => r.type)).toEqual(['Microsoft.Resources/resourceGroups']);
    const call = main.modules.find((m) => m.path === 'resources.bicep');
    expect(call).toBeDefined();
    expect(String(call!.body['scope'])).toBe(main.resources[0]!.symbol);
    expect(resources.targetScope).toBe('resourceGroup');
  });

  it('main.bicep passes through every parameter of resources.bicep it needs, with the same choices', () => {
    const main = loadBicep('infra/main.bicep');
    const passed = main.modules.find((m) => m.path === 'resources.bicep')!.body['params'] as Record<string, unknown>;
    const rgParams = new Map(resources.params.map((p) => [p.name, p]));
    for (const name of Object.keys(passed)) expect(rgParams.has(name), `resources.bicep has no parameter ${name}`).toBe(true);
    for (const p of resources.params) if (p.defaultText === undefined) expect(passed, `required ${p.name}`).toHaveProperty(p.name);
    for (const p of main.params) {
      const target = rgParams.get(p.name);
      if (!target) continue;
      expect(p.type, p.name).toBe(target.type);
      if (p.allowed) expect(p.allowed, p.name).toEqual(target.allowed);
      if (p.defaultValue !== undefined && !(p.defaultValue instanceof Expr)) expect(p.defaultValue, p.name).toEqual(target.defaultValue);
    }
  });

  it('main.parameters.json names only parameters of main.bicep and every one without a default', () => {
    const main = loadBicep('infra/main.bicep');
    const file = JSON.parse(readRepoFile('infra/main.parameters.json')) as { parameters: Record<string, { value: unknown }> };
    const names = new Set(main.params.map((p) => p.name));
    for (const name of Object.keys(file.parameters)) expect(names.has(name), name).toBe(true);
    for (const p of main.params) if (p.defaultText === undefined) expect(file.parameters, p.name).toHaveProperty(p.name);
  });

  it('azure.yaml deploys the TypeScript app as a function from infra/', () => {
    const text = readRepoFile('azure.yaml');
    expect(text).toMatch(/^\s+host:\s*function\s*$/m);
    expect(text).toMatch(/^\s+language:\s*ts\s*$/m);
    expect(text).toMatch(/^\s+path:\s*infra\s*$/m);
  });
});

describe('azuredeploy.json is resources.bicep compiled', () => {
  it('is a resource-group deployment template', () => {
    const raw = JSON.parse(readRepoFile('azuredeploy.json')) as { $schema: string };
    expect(raw.$schema).toContain('/deploymentTemplate.json#');
  });

  it('calls every module as a nested deployment with inner expression scope', () => {
    for (const m of modules) {
      const deployment = arm.resources.find((r) => r.name === m.deploymentName)!;
      expect(deployment.type).toBe('Microsoft.Resources/deployments');
      expect((deployment.properties as { expressionEvaluationOptions?: { scope: string } }).expressionEvaluationOptions?.scope).toBe('inner');
      // The module's parameters as passed in Bicep are exactly those the deployment passes.
      const passed = Object.keys((m.call.body['params'] ?? {}) as object).sort();
      expect(Object.keys(deployment.properties!.parameters ?? {}).sort(), m.file).toEqual(passed);
      for (const p of m.bicep.params) if (p.defaultText === undefined) expect(passed, `${m.file} needs ${p.name}`).toContain(p.name);
    }
  });

  describe.each(pairs.map((p) => [p.file, p]))('%s', (_file, { bicep, template }) => {
    it('has the same parameters: names, types, defaults, allowed values, bounds', () => {
      const armParams = template.parameters ?? {};
      expect(Object.keys(armParams).sort()).toEqual(bicep.params.map((p) => p.name).sort());
      for (const p of bicep.params) {
        const a = armParams[p.name]!;
        expect(a.type, p.name).toBe(armTypeOf(p.type, p.secure));
        if (p.defaultText === undefined) expect(a, p.name).not.toHaveProperty('defaultValue');
        else if (p.defaultValue instanceof Expr) expect(squash(String(a.defaultValue)), p.name).toBe(`[${squash(p.defaultValue.text)}]`);
        else expect(a.defaultValue, p.name).toEqual(p.defaultValue);
        expect(a.allowedValues, p.name).toEqual(p.allowed);
        for (const bound of ['minValue', 'maxValue', 'minLength', 'maxLength'] as const) expect(a[bound], `${p.name} ${bound}`).toEqual(p[bound]);
        expect(a.metadata?.description, p.name).toBe(p.description);
      }
    });

    it('has the same resource types with the same API versions', () => {
      const armTypes = template.resources.map((r) => `${r.type}@${r.apiVersion}`).sort();
      expect(armTypes).toEqual(resourceTypes(bicep));
    });

    it('has the same loops and conditions', () => {
      const own = bicep.resources.filter((r) => !r.existing);
      expect(template.resources.filter((r) => r.copy).length).toBe(own.filter((r) => r.loop).length);
      expect(template.resources.filter((r) => r.condition).length).toBe(own.filter((r) => r.condition).length);
    });

    it('has the same outputs', () => {
      const armOutputs = template.outputs ?? {};
      expect(Object.keys(armOutputs).sort()).toEqual(bicep.outputs.map((o) => o.name).sort());
      for (const o of bicep.outputs) expect(armOutputs[o.name]!.type, o.name).toBe(o.type);
    });
  });

  it('covers the whole tree: the same resource types anywhere', () => {
    const bicepTypes = pairs.flatMap((p) => resourceTypes(p.bicep)).sort();
    expect(allArmResources(arm).map((r) => `${r.type}@${r.apiVersion}`).sort()).toEqual(bicepTypes);
  });

  it('inlines loadJsonContent/loadTextContent as Bicep does', () => {
    expect(arm.variables?.['$fxv#0']).toEqual(JSON.parse(readRepoFile('infra/abbreviations.json')));
    const compute = modules.find((m) => m.file === 'infra/app/compute.bicep')!;
    expect(nestedTemplate(arm, compute.deploymentName).variables?.['$fxv#0']).toBe(readRepoFile('infra/app/node-cloud-init.yaml'));
  });
});

describe('the Bicep reader', () => {
  it('reads literals and keeps expressions', () => {
    expect(parseValue("[\n  'a'\n  'b'\n]")).toEqual(['a', 'b']);
    expect(parseValue("{\n  a: 1\n  'b-c': true\n}")).toEqual({ a: 1, 'b-c': true });
    expect(parseValue("'it\\'s'")).toBe("it's");
    expect(parseValue("'${x}-y'")).toBeInstanceOf(Expr);
    expect(parseValue('resourceGroup().location')).toBeInstanceOf(Expr);
  });

  it('reads decorators, loops, conditions and multi-line ternaries', () => {
    const file = parseBicep(
      [
        "@allowed([\n  'x'\n  'y'\n])",
        '@minLength(2)',
        "param p string = 'x'",
        '@secure()',
        'param s string',
        "resource r 'A.B/c@2020-01-01' = [for (n, i) in ns: if (p == 'x') {\n  name: n\n}]",
        "output o string = p == 'x'\n  ? 'a'\n  : 'b'",
      ].join('\n'),
    );
    expect(file.params[0]).toMatchObject({ name: 'p', allowed: ['x', 'y'], minLength: 2, defaultValue: 'x' });
    expect(file.params[1]).toMatchObject({ name: 's', secure: true });
    expect(file.resources[0]).toMatchObject({ type: 'A.B/c', apiVersion: '2020-01-01', loop: '(n, i) in ns', condition: "p == 'x'" });
    expect(file.outputs[0]!.text).toContain(": 'b'");
  });

  it('refuses what it cannot read', () => {
    expect(() => parseBicep('param 1bad string')).toThrow();
    expect(() => parseBicep("resource r 'A.B/c@2020-01-01' = {\n  name: 'x'\n")).toThrow();
  });
});
