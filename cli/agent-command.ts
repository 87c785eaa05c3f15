// Placeholder until the node agent lands: `fnbatch agent` is being built in agent/.
import { UsageError } from './args.js';

export const AGENT_USAGE = `fnbatch agent    runs the compute-node agent (configured by FNBATCH_* environment variables)`;

export async function agentCommand(_argv: string[]): Promise<void> {
  throw new UsageError('the node agent is not available in this build');
}
