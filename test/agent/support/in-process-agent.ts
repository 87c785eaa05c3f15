// Runs an Agent inside the test process against a real Azurite and the control-plane double.
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Agent, type AgentExit, type AgentTuning } from '../../../agent/agent.js';
import type { AgentConfig } from '../../../agent/config.js';
import { TEST_AGENT_KEY, type ControlPlaneDouble } from './control-plane-double.js';

export interface TestAgent {
  agent: Agent;
  config: AgentConfig;
  exit: Promise<AgentExit>;
  logs: string[];
}

export async function startTestAgent(
  controlPlane: ControlPlaneDouble,
  connectionString: string,
  poolId: string,
  config: Partial<AgentConfig> = {},
  tuning: Partial<AgentTuning> = {},
): Promise<TestAgent> {
  const workDir = await mkdtemp(path.join(os.tmpdir(), 'fnbatch-agent-test-'));
  const full: AgentConfig = {
    endpoint: controlPlane.baseUrl,
    agentKey: TEST_AGENT_KEY,
    poolId,
    nodeId: `${poolId}-d1`,
    isDedicated: true,
    taskSlots: 1,
    storage: connectionString,
    workDir,
    leaseMs: 30_000,
    shutdownGraceMs: 0,
    launcher: 'auto',
    ...config,
  };
  const logs: string[] = [];
  const agent = await Agent.create(full, { log: (line) => logs.push(line), tuning });
  return { agent, config: full, exit: agent.run(), logs };
}
