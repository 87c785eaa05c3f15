// Runs the pool's start task (Batch's startTask) in <workDir>/startup, with its output kept on the
// node, and reports the result to the control plane.
import path from 'node:path';
import type { AgentConfig, StartTaskSpec } from './config.js';
import type { ControlPlaneClient } from './control-plane-client.js';
import { retryWhileUnavailable } from './retry.js';
import type { ProcessLauncher } from './process-launcher.js';
import { runCommand, type CommandRun } from './run-command.js';
import { nodeEnvironment, taskEnvironment } from './task-environment.js';

export interface StartTaskRun {
  run: CommandRun;
  /** Resolves with whether the start task succeeded, once it is reported. */
  result: Promise<boolean>;
}

export function runStartTask(
  config: AgentConfig,
  spec: StartTaskSpec,
  launcher: ProcessLauncher,
  client: ControlPlaneClient,
  log: (line: string) => void,
  signal: AbortSignal,
): StartTaskRun {
  const taskDir = path.join(config.workDir, 'startup');
  const run = runCommand({
    launcher,
    commandLine: spec.commandLine,
    taskDir,
    env: (workingDir) =>
      taskEnvironment(
        nodeEnvironment(process.env),
        { poolId: config.poolId, nodeId: config.nodeId, isDedicated: config.isDedicated, nodeRootDir: config.workDir, taskDir, workingDir },
        spec.environmentSettings,
      ),
    killGroupOnExit: false,
  });
  const result = (async () => {
    const outcome = await run.done;
    const succeeded = outcome.exitCode === 0;
    const message = outcome.failure?.message ?? (succeeded ? undefined : `The start task exited with code ${outcome.exitCode}`);
    log(`start task ${succeeded ? 'succeeded' : `failed: ${message}`}`);
    try {
      await retryWhileUnavailable(
        () =>
          client.startTask({
            poolId: config.poolId,
            nodeId: config.nodeId,
            succeeded,
            exitCode: outcome.exitCode,
            ...(message ? { message } : {}),
          }),
        { log, what: 'start task report', signal },
      );
    } catch (error) {
      log(`start task report not delivered: ${(error as Error).message}`);
    }
    return succeeded;
  })();
  return { run, result };
}
