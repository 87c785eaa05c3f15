import { UsageError } from './args.js';
import { CONNECTION_USAGE } from './client-command.js';
import { DEMO_USAGE } from './demo-usage.js';
import { processIO, type CliIO } from './io.js';
import { JOB_USAGE, jobCommand } from './job-command.js';
import { POOL_USAGE, poolCommand } from './pool-command.js';
import { runCommand } from './run-command.js';
import { TASK_USAGE, taskCommand } from './task-command.js';

// `host`, `agent` and `demo` load the local host or the agent, which takes most of a second;
// they are imported only when used, so client commands start quickly.

const indent = (text: string) => text.split('\n').join('\n  ');

export async function usage(): Promise<string> {
  const [{ HOST_USAGE }, { AGENT_USAGE }] = await Promise.all([import('./host-command.js'), import('./agent-command.js')]);
  return `fnbatch <command>

Commands:
  ${indent(DEMO_USAGE)}
  ${indent(HOST_USAGE)}
  ${indent(POOL_USAGE)}
  ${indent(JOB_USAGE)}
  ${indent(TASK_USAGE)}
  ${indent(AGENT_USAGE)}

${CONNECTION_USAGE}

Exit codes: 0 success, 1 the service refused or a task failed, 2 usage error.
`;
}

const CLIENT_COMMANDS = new Set(['pool', 'job', 'task', 'demo']);

/** The client commands (and the demo), callable in-process; resolves with the exit code. */
export function runClientCommand(command: string, argv: string[], io: CliIO): Promise<number> {
  return runCommand(io, async () => {
    switch (command) {
      case 'pool':
        return poolCommand(argv, io);
      case 'job':
        return jobCommand(argv, io);
      case 'task':
        return taskCommand(argv, io);
      case 'demo': {
        const { demoCommand } = await import('./demo-command.js');
        return demoCommand(argv, io);
      }
      default:
        throw new UsageError(`unknown command "${command}"\n\n${await usage()}`);
    }
  });
}

export async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command !== undefined && CLIENT_COMMANDS.has(command)) {
    const code = await runClientCommand(command, rest, processIO());
    // Let buffered output reach a pipe before exiting (writes to pipes are asynchronous on some platforms).
    await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
    process.exit(code);
  }
  try {
    switch (command) {
      case 'host': {
        const { hostCommand } = await import('./host-command.js');
        return await hostCommand(rest);
      }
      case 'agent': {
        const { agentCommand } = await import('./agent-command.js');
        return await agentCommand(rest);
      }
      case undefined:
      case 'help':
      case '--help':
        process.stdout.write(await usage());
        return;
      default:
        throw new UsageError(`unknown command "${command}"\n\n${await usage()}`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`fnbatch: ${err.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`fnbatch: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}
