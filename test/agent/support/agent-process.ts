// Runs `fnbatch agent` as its own process, as a node's service unit would.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TEST_AGENT_KEY, type ControlPlaneDouble } from './control-plane-double.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const fnbatchBin = path.join(repoRoot, 'bin', 'fnbatch.js');

export interface AgentProcess {
  child: ChildProcess;
  nodeId: string;
  workDir: string;
  output(): string;
  exited: Promise<number | null>;
  ready: Promise<void>;
}

export async function spawnAgent(
  controlPlane: ControlPlaneDouble,
  connectionString: string,
  poolId: string,
  env: Record<string, string> = {},
  args: string[] = [],
): Promise<AgentProcess> {
  const workDir = await mkdtemp(path.join(os.tmpdir(), 'fnbatch-agent-proc-'));
  const nodeId = `${poolId}-d1`;
  const child = spawn(process.execPath, [fnbatchBin, 'agent', ...args], {
    env: {
      ...process.env,
      FNBATCH_ENDPOINT: controlPlane.baseUrl,
      FNBATCH_AGENT_KEY: TEST_AGENT_KEY,
      FNBATCH_POOL_ID: poolId,
      FNBATCH_NODE_ID: nodeId,
      FNBATCH_STORAGE: connectionString,
      FNBATCH_WORK_DIR: workDir,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('fnbatch agent ready')) resolve();
    });
    child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    void exited.then((code) => reject(new Error(`agent exited with ${code} before it was ready:\n${out}`)));
  });
  ready.catch(() => undefined);
  return { child, nodeId, workDir, output: () => out, exited, ready };
}
