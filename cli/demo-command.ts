// `fnbatch demo`: the whole system on one machine in well under a minute, offline. A local host
// runs in this process with a fresh data folder; a pool of two local nodes (agent processes) runs
// examples/demo-job.json; the result and every task's output location are printed; then the pool,
// the host and the data folder are removed.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startHost, type RunningHost } from '../local-host/host.js';
import type { HostLog } from '../local-host/contracts.js';
import { parseArgs, UsageError } from './args.js';
import { BatchClient, type Resource } from './batch-client.js';
import { DEMO_USAGE } from './demo-usage.js';
import type { CliIO } from './io.js';
import { watchAndSummarize } from './job-command.js';
import { formatElapsed } from './render.js';
import { renderTable } from './table.js';
import { fnbatchPackageRoot } from '../shared/package-root.js';
import { copyFrom } from './task-command.js';

export const DEMO_POOL = { id: 'demo', vmSize: 'local', targetDedicatedNodes: 2, taskSlotsPerNode: 4 } as const;
const NODES_READY_TIMEOUT_MS = 60_000;

export async function demoCommand(argv: string[], io: CliIO): Promise<number> {
  const args = parseArgs(argv, new Set(['keep']));
  if (args.positionals.length) throw new UsageError(`unexpected argument "${args.positionals[0]}"\n${DEMO_USAGE}`);
  for (const name of args.options.keys()) if (name !== 'keep') throw new UsageError(`unknown option --${name}\n${DEMO_USAGE}`);
  const keep = args.options.get('keep') === true;

  const root = fnbatchPackageRoot();
  const jobBody = JSON.parse(readFileSync(path.join(root, 'examples', 'demo-job.json'), 'utf8')) as Record<string, unknown>;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'fnbatch-demo-'));
  const hostLog = collectingLog();
  const out = (line = '') => io.stdout.write(`${line}\n`);
  let host: RunningHost | undefined;
  let client: BatchClient | undefined;
  let cleaned: Promise<void> | undefined;
  const cleanUp = () =>
    (cleaned ??= (async () => {
      if (client) await client.deletePool(DEMO_POOL.id).catch(() => undefined);
      await host?.stop().catch(() => undefined);
      if (!keep) rmSync(dataDir, { recursive: true, force: true });
    })());
  const interrupted = () => void cleanUp().finally(() => process.exit(130));
  process.once('SIGINT', interrupted);

  try {
    isolateFromDeveloperSettings(process.env);
    const started = Date.now();
    out('fnbatch demo: a job scheduler on the local Functions host, with two local compute nodes.');
    host = await startHost({ appDir: root, port: 0, dataDir, log: hostLog, functionLogs: false });
    client = new BatchClient({ apiBase: `${host.baseUrl}/api`, key: host.keys.functionKey });
    out(`  local host:  ${host.baseUrl}  (data in ${dataDir})`);

    await client.createPool(DEMO_POOL);
    const nodes = await waitForIdleNodes(client, DEMO_POOL.id, DEMO_POOL.targetDedicatedNodes);
    out(`  pool ${DEMO_POOL.id}:   ${nodes.map((n) => n.id).join(', ')} idle, ${DEMO_POOL.taskSlotsPerNode} task slots each`);

    await client.submitJob(jobBody);
    const jobId = String(jobBody.id);
    const taskCount = Array.isArray(jobBody.tasks) ? jobBody.tasks.length : 0;
    out(`  job ${jobId}:    ${taskCount} tasks from examples/demo-job.json`);
    out();
    const code = await watchAndSummarize(client, jobId, io, false, io.stdout);

    const tasks = inFileOrder(await client.listTasks(jobId), jobBody.tasks);
    for (const task of fanInTasks(tasks)) {
      out();
      out(`Result (stdout of the fan-in task ${task.id}):`);
      out(indent((await readWhole(client, jobId, task.id)).trimEnd()));
    }
    out();
    out('Task outputs (served by the host while it runs):');
    io.stdout.write(
      indent(
        renderTable(
          ['TASK', 'RESULT', 'NODE', 'STDOUT'],
          tasks.map((t) => [t.id, resultOf(t), nodeOf(t), client!.fileUrl(jobId, t.id, 'stdout.txt')]),
        ).trimEnd(),
      ) + '\n',
    );
    out();
    out('Stopping the nodes and the local host...');
    await cleanUp();
    out(`Done in ${formatElapsed(Date.now() - started)}.${keep ? ` The data folder is kept: ${dataDir}` : ''}`);
    return code;
  } catch (err) {
    const logged = hostLog.problems();
    if (logged.length) io.stderr.write(`The local host reported:\n${logged.map((l) => `  ${l}`).join('\n')}\n`);
    await cleanUp();
    throw err;
  } finally {
    process.removeListener('SIGINT', interrupted);
  }
}

/**
 * The demo must run the same on any machine: settings a developer may have in their shell for a
 * real deployment (storage, Cosmos DB, the Azure node provider) are not used.
 */
function isolateFromDeveloperSettings(env: NodeJS.ProcessEnv): void {
  env.AzureWebJobsStorage = 'UseDevelopmentStorage=true';
  env.FNBATCH_STORE = 'file';
  env.FNBATCH_SCALE_SET_PROVIDER = 'local';
  delete env.WEBSITE_HOSTNAME;
}

async function waitForIdleNodes(client: BatchClient, poolId: string, count: number): Promise<Resource[]> {
  const deadline = Date.now() + NODES_READY_TIMEOUT_MS;
  for (;;) {
    const nodes = await client.listNodes(poolId);
    if (nodes.length >= count && nodes.every((n) => n.state === 'idle')) return nodes;
    if (Date.now() > deadline) {
      const pool = await client.getPool(poolId);
      const errors = Array.isArray(pool.resizeErrors) ? ` Resize errors: ${JSON.stringify(pool.resizeErrors)}` : '';
      throw new Error(`the pool's nodes were not idle after ${NODES_READY_TIMEOUT_MS / 1000} s (${nodes.map((n) => `${n.id} ${String(n.state)}`).join(', ') || 'no nodes'}).${errors}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Tasks that depend on others and that nothing depends on: where a DAG's results come together. */
export function fanInTasks(tasks: readonly Resource[]): Resource[] {
  const depended = new Set<string>();
  const ranges: { start: number; end: number }[] = [];
  for (const t of tasks) {
    const deps = (t.dependsOn ?? {}) as { taskIds?: string[]; taskIdRanges?: { start: number; end: number }[] };
    for (const id of deps.taskIds ?? []) depended.add(id.toLowerCase());
    ranges.push(...(deps.taskIdRanges ?? []));
  }
  const inRange = (id: string) => /^\d+$/.test(id) && ranges.some((r) => Number(id) >= r.start && Number(id) <= r.end);
  return tasks.filter((t) => t.dependsOn !== undefined && !depended.has(t.id.toLowerCase()) && !inRange(t.id));
}

async function readWhole(client: BatchClient, jobId: string, taskId: string): Promise<string> {
  const chunks: Buffer[] = [];
  const sink = { write: (c: string | Uint8Array) => chunks.push(Buffer.from(c)) };
  try {
    await copyFrom(client, jobId, taskId, 'stdout.txt', 0, sink);
  } catch {
    return '(no output)';
  }
  return Buffer.concat(chunks).toString('utf8');
}

function inFileOrder(tasks: Resource[], specs: unknown): Resource[] {
  const order = new Map((Array.isArray(specs) ? specs : []).map((t, i) => [String((t as { id?: unknown }).id).toLowerCase(), i]));
  const rank = (t: Resource) => order.get(t.id.toLowerCase()) ?? Number.MAX_SAFE_INTEGER;
  return [...tasks].sort((a, b) => rank(a) - rank(b));
}

function resultOf(t: Resource): string {
  const info = (t.executionInfo ?? {}) as { result?: string };
  return info.result ?? String(t.state);
}

function nodeOf(t: Resource): string {
  return ((t.nodeInfo ?? {}) as { nodeId?: string }).nodeId ?? '';
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}

/** Keeps the host's warnings and errors for when the demo fails; the demo's own output is enough otherwise. */
function collectingLog(): HostLog & { problems(): string[] } {
  const kept: string[] = [];
  const keep = (m: string) => {
    kept.push(m);
    if (kept.length > 50) kept.shift();
  };
  return { info: () => undefined, warn: (m) => keep(`warning: ${m}`), error: (m) => keep(`error: ${m}`), problems: () => kept };
}
