// `fnbatch agent`: runs the compute-node agent until it is told to leave or receives SIGTERM/SIGINT.
import { Agent } from '../agent/agent.js';
import { AGENT_EXTRA_ENV, AgentConfigError, loadAgentConfig, MAX_TASK_SLOTS } from '../agent/config.js';
import { intOption, parseArgs, stringOption, UsageError } from './args.js';

export const AGENT_USAGE = `fnbatch agent [--endpoint URL] [--pool ID] [--node ID] [--slots N] [--work-dir DIR] [--grace-ms MS]
  Runs the compute-node agent. Configured by FNBATCH_ENDPOINT, FNBATCH_AGENT_KEY, FNBATCH_POOL_ID,
  FNBATCH_NODE_ID, FNBATCH_NODE_IS_DEDICATED, FNBATCH_TASK_SLOTS, FNBATCH_STORAGE, FNBATCH_WORK_DIR,
  FNBATCH_LEASE_MS, FNBATCH_START_TASK and FNBATCH_SHUTDOWN_GRACE_MS; flags override them.
  On SIGTERM it takes no more work and lets running tasks finish for the grace period (default 30 s).`;

export async function agentCommand(argv: string[]): Promise<void> {
  const args = parseArgs(argv, new Set());
  if (args.positionals.length) throw new UsageError(`unexpected argument "${args.positionals[0]}"\n${AGENT_USAGE}`);
  const overrides = {
    endpoint: stringOption(args, 'endpoint'),
    poolId: stringOption(args, 'pool'),
    nodeId: stringOption(args, 'node'),
    taskSlots: intOption(args, 'slots', 1, MAX_TASK_SLOTS),
    workDir: stringOption(args, 'work-dir'),
    shutdownGraceMs: intOption(args, 'grace-ms', 0, 24 * 60 * 60 * 1000),
  };
  let config;
  try {
    config = loadAgentConfig(process.env, withoutUndefined(overrides));
  } catch (error) {
    if (error instanceof AgentConfigError) throw new UsageError(error.message);
    throw error;
  }
  const log = (line: string) => process.stderr.write(`${new Date().toISOString()} [${config.nodeId}] ${line}\n`);
  let agent: Agent;
  try {
    agent = await Agent.create(config, { log });
  } catch (error) {
    if (error instanceof AgentConfigError) throw new UsageError(error.message);
    throw new Error(`the agent cannot reach its Storage account: ${(error as Error).message}`);
  }
  // A second signal is not caught: it ends the agent at once.
  const stop = () => void agent.stop();
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  if (process.env[AGENT_EXTRA_ENV.exitWithParent] === '1') watchParent(stop);
  // The local scale-set provider waits for this line to call the node running.
  process.stdout.write(`fnbatch agent ready: pool ${config.poolId}, node ${config.nodeId}, ${config.taskSlots} slot(s)\n`);
  const exit = await agent.run();
  log(`agent exiting (${exit})`);
  process.exit(0);
}

function withoutUndefined<T extends object>(value: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as never;
}

/** Calls `onGone` once the process that started this one has exited (this one is re-parented). */
function watchParent(onGone: () => void): void {
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid !== parent) {
      clearInterval(timer);
      onGone();
    }
  }, 1000);
  timer.unref();
}
