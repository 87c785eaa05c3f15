// The autoscale endpoints through the real local host running the compiled app (npm test builds
// it first), in memory, with the local node provider. Formulas here ask for no nodes, so no agent
// processes start.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHost, type RunningHost } from '../../local-host/host.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
let host: RunningHost;

async function call(method: string, route: string, body?: unknown): Promise<{ status: number; json: any }> {
  const response = await fetch(`${host.baseUrl}/api/${route}`, {
    method,
    headers: { 'x-functions-key': host.keys.functionKey, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : undefined };
}

beforeAll(async () => {
  host = await startHost({ appDir: repoRoot, inMemory: true, port: 0, functionLogs: false, log: { info: () => {}, warn: () => {}, error: () => {} } });
});

afterAll(async () => {
  await host?.stop();
});

describe('autoscale API', () => {
  it('creates an autoscaled pool and evaluates its formula at once', async () => {
    const created = await call('POST', 'pools', {
      id: 'api-auto',
      vmSize: 'Standard_D2s_v5',
      enableAutoScale: true,
      autoScaleFormula: 'floor = 0;\n$TargetDedicatedNodes = floor;',
      autoScaleEvaluationInterval: 'PT1M',
    });
    expect(created.status).toBe(201);
    const pool = await call('GET', 'pools/api-auto');
    expect(pool.json.enableAutoScale).toBe(true);
    expect(pool.json.autoScaleRun.results).toBe('$TargetDedicatedNodes=0;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue;floor=0');
    expect(pool.json.autoScaleRun.error).toBeUndefined();
    expect(pool.json.autoScaleState).toBeUndefined();
  });

  it('evaluateautoscale returns the run and each variable without applying it', async () => {
    const result = await call('POST', 'pools/api-auto/evaluateautoscale', {
      autoScaleFormula: 'busy = $PendingTasks;\n$TargetDedicatedNodes = 4;\n$NodeDeallocationOption = taskcompletion;',
    });
    expect(result.status).toBe(200);
    expect(result.json.results).toBe('$TargetDedicatedNodes=4;$TargetLowPriorityNodes=0;$NodeDeallocationOption=taskcompletion;busy=0');
    expect(Date.parse(result.json.timestamp)).not.toBeNaN();
    expect(result.json.variables).toContainEqual({ name: 'busy', value: '0' });
    const pool = await call('GET', 'pools/api-auto');
    expect(pool.json.targetDedicatedNodes).toBe(0);

    const failing = await call('POST', 'pools/api-auto/evaluateautoscale', {
      autoScaleFormula: '$TargetDedicatedNodes = $CPUPercent.GetSample(TimeInterval_Minute * 10, 90);',
    });
    expect(failing.status).toBe(200);
    expect(failing.json.error.code).toBe('AutoScalingFormulaEvaluationError');
    expect(failing.json.error.values).toContainEqual({ name: 'Line', value: '1' });
  });

  it('rejects a bad formula with a 400 naming its line and column', async () => {
    for (const route of ['pools/api-auto/evaluateautoscale', 'pools/api-auto/enableautoscale']) {
      const bad = await call('POST', route, { autoScaleFormula: '$TargetDedicatedNodes = 1;\n$TargetDedicatedNodes = (2 +;' });
      expect(bad.status).toBe(400);
      expect(bad.json.code).toBe('AutoScalingFormulaSyntaxError');
      expect(bad.json.values).toContainEqual({ key: 'Line', value: '2' });
      expect(bad.json.values.find((v: { key: string }) => v.key === 'Column').value).toMatch(/^\d+$/);
    }
    const unknown = await call('POST', 'pools/api-auto/evaluateautoscale', { autoScaleFormula: '$TargetDedicatedNodes = $NoSuchThing;' });
    expect(unknown.status).toBe(400);
    expect(unknown.json.code).toBe('AutoScalingFormulaSyntaxError');
    const interval = await call('POST', 'pools/api-auto/enableautoscale', { autoScaleFormula: '$TargetDedicatedNodes = 0;', autoScaleEvaluationInterval: 'PT59S' });
    expect(interval.status).toBe(400);
    expect(interval.json.code).toBe('InvalidPropertyValue');
    const missing = await call('POST', 'pools/api-auto/evaluateautoscale', {});
    expect(missing.status).toBe(400);
    expect(missing.json.code).toBe('MissingRequiredProperty');
    const notJson = await call('POST', 'pools/api-auto/enableautoscale', [1]);
    expect(notJson.status).toBe(400);
  });

  it('enableautoscale changes the formula and applies it; disableautoscale keeps the targets and allows resize again', async () => {
    const enabled = await call('POST', 'pools/api-auto/enableautoscale', { autoScaleFormula: '$TargetLowPriorityNodes = 0;\n$NodeDeallocationOption = terminate;', autoScaleEvaluationInterval: 'PT2M' });
    expect(enabled.status).toBe(200);
    let pool = await call('GET', 'pools/api-auto');
    expect(pool.json.autoScaleFormula).toContain('terminate');
    expect(pool.json.autoScaleEvaluationInterval).toBe('PT2M');
    expect(pool.json.autoScaleRun.results).toContain('$NodeDeallocationOption=terminate');

    const refused = await call('POST', 'pools/api-auto/resize', { targetDedicatedNodes: 0 });
    expect(refused.status).toBe(409);

    const disabled = await call('POST', 'pools/api-auto/disableautoscale');
    expect(disabled.status).toBe(200);
    pool = await call('GET', 'pools/api-auto');
    expect(pool.json.enableAutoScale).toBe(false);
    expect(pool.json.targetDedicatedNodes).toBe(0);
    const resized = await call('POST', 'pools/api-auto/resize', { targetDedicatedNodes: 0 });
    expect(resized.status).toBe(202);

    const notEnabled = await call('POST', 'pools/api-auto/evaluateautoscale', { autoScaleFormula: '$TargetDedicatedNodes = 0;' });
    expect(notEnabled.status).toBe(409);
    expect(notEnabled.json.code).toBe('AutoScalingNotEnabled');
    const missingPool = await call('POST', 'pools/nope/enableautoscale', { autoScaleFormula: '$TargetDedicatedNodes = 0;' });
    expect(missingPool.status).toBe(404);
  });
});
