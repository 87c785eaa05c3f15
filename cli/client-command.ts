// What the pool, job and task commands share: a client for the chosen endpoint and key.
import { stringOption, type ParsedArgs } from './args.js';
import { BatchClient } from './batch-client.js';
import { resolveConnection } from './connection.js';
import type { CliIO } from './io.js';
import { fnbatchPackageRoot } from '../shared/package-root.js';

export const CONNECTION_USAGE = `Connection (every pool/job/task command):
  --endpoint URL  the fnbatch service (default FNBATCH_ENDPOINT, else http://127.0.0.1:7071)
  --key KEY       its function key (default FNBATCH_KEY, else the local host's own key)
  --json          print the service's JSON instead of tables`;

export function clientFor(args: ParsedArgs, io: CliIO): BatchClient {
  return new BatchClient(
    resolveConnection({
      endpoint: stringOption(args, 'endpoint'),
      key: stringOption(args, 'key'),
      env: io.env,
      packageRoot: fnbatchPackageRoot(),
    }),
  );
}
