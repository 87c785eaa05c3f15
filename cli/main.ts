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
const HELP_FLAGS = new Set(['--help', '-h']);

/** `--help` or `-h` anywhere before a `--`: the command's usage instead of running it. */
function wantsHelp(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).some((arg) => HELP_FLAGS.has(arg));
}

/** The usage of one command, or of all when the command is not known. */
async function commandUsage(command: string | undefined): Promise<string> {
  switch (command) {
    case 'pool':
      return `${POOL_USAGE}\n\n${CONNECTION_USAGE}\n`;
    case 'job':
      return `${JOB_USAGE}\n\n${CONNECTION_USAGE}\n`;
    case 'task':
      return `${TASK_USAGE}\n\n${CONNECTION_USAGE}\n`;
    case 'demo':
      return `${DEMO_USAGE}\n`;
    case 'host':
      return `${(await import('./host-command.js')).HOST_USAGE}\n`;
    case 'agent':
      return `${(await import('./agent-command.js')).AGENT_USAGE}\n`;
    default:
      return usage();
  }
}

/** The client commands (and the demo), callable in-process; resolves with the exit code. */
export function runClientCommand(command: string, argv: string[], io: CliIO): Promise<number> {
  return runCommand(io, async () => {
    if (CLIENT_COMMANDS.has(command) && wantsHelp(argv)) {
      io.stdout.write(await commandUsage(command));
      return 0;
    }
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
    if (command !== undefined && HELP_FLAGS.has(command)) {
      process.stdout.write(await usage());
      return;
    }
    if ((command === 'host' || command === 'agent') && wantsHelp(rest)) {
      process.stdout.write(await commandUsage(command));
      return;
    }
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
        process.stdout.write(await commandUsage(rest[0]));
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
