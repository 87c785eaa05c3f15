// Runs one client command and turns what went wrong into an exit code and a message on stderr:
// 2 for usage errors, 1 for the service's errors (Batch's code, message and values) and for
// anything else.
import { UsageError } from './args.js';
import { ServiceError, UnreachableError } from './batch-client.js';
import { ConnectionError } from './connection.js';
import type { CliIO } from './io.js';
import { errorText } from './render.js';

export async function runCommand(io: CliIO, command: () => Promise<number>): Promise<number> {
  try {
    return await command();
  } catch (err) {
    if (err instanceof UsageError || err instanceof ConnectionError) {
      io.stderr.write(`fnbatch: ${err.message}\n`);
      return 2;
    }
    if (err instanceof ServiceError) {
      io.stderr.write(`fnbatch: ${errorText(err)}`);
      return 1;
    }
    if (err instanceof UnreachableError) {
      io.stderr.write(`fnbatch: ${err.message}\n`);
      return 1;
    }
    io.stderr.write(`fnbatch: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}
