import { hostCommand, HOST_USAGE } from './host-command.js';
import { UsageError } from './args.js';
import { agentCommand, AGENT_USAGE } from './agent-command.js';

const USAGE = `fnbatch <command>

Commands:
  ${HOST_USAGE.split('\n').join('\n  ')}
  ${AGENT_USAGE.split('\n').join('\n  ')}
`;

export async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'host':
        return await hostCommand(rest);
      case 'agent':
        return await agentCommand(rest);
      case undefined:
      case 'help':
      case '--help':
        process.stdout.write(USAGE);
        return;
      default:
        throw new UsageError(`unknown command "${command}"\n\n${USAGE}`);
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
