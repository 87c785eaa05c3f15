// Runs the pool's start task (Batch's startTask) in <workDir>/startup, with its output kept on the
// node, and reports the result to the control plane.
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import type { AgentConfig, StartTaskSpec } from './config.js';
import type { ControlPlaneClient } from './control-plane-client.js';
import { retryWhileUnavailable } from './retry.js';
import { runCommand, type CommandRun, type OutputSink } from './run-command.js';
import { taskEnvironment } from './task-environment.js';

export interface StartTaskRun {
  run: CommandRun;
  /** Resolves with whether the start task succeeded, once it is reported. */
  result: Promise<boolean>;
}

export function runStartTask(
  config: AgentConfig,
  spec: StartTaskSpec,
  client: ControlPlaneClient,
  log: (line: string) => void,
  signal: AbortSignal,
): StartTaskRun {
  const taskDir = path.join(config.workDir, 'startup');
  const run = runCommand({
    commandLine: spec.commandLine,
    taskDir,
    env: (workingDir) =>
      taskEnvironment(
        process.env,
        { poolId: config.poolId, nodeId: config.nodeId, isDedicated: config.isDedicated, nodeRootDir: config.workDir, taskDir, workingDir },
        spec.environmentSettings,
      ),
    openOutput: async (_file, localPath) => localFile(localPath, log),
    killLeftoversOnExit: false,
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

function localFile(localPath: string, log: (line: string) => void): OutputSink {
  const stream = createWriteStream(localPath);
  stream.on('error', (error) => log(`cannot write ${localPath}: ${error.message}`));
  return {
    write: (chunk) => stream.write(chunk),
    close: () => new Promise<void>((resolve) => stream.end(resolve)),
  };
}
