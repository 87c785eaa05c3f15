import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startHost } from '../local-host/host.js';
import { intOption, parseArgs, stringOption, UsageError } from './args.js';

export const HOST_USAGE = `fnbatch host [--app DIR] [--port N] [--data DIR | --in-memory]
  Runs a compiled Azure Functions v4 Node app locally, Durable Functions included.
  --app DIR     the app folder (package.json "main" names its compiled files); default: fnbatch itself
  --port N      HTTP port, default 7071 (0 = any free port)
  --data DIR    where state persists across restarts; default: <app>/.fnbatch
  --in-memory   keep nothing on disk`;

/** The folder of this package (dist/cli/.. /..). */
export function packageRoot(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
}

const HOST_OPTIONS = new Set(['app', 'port', 'data', 'in-memory']);

export async function hostCommand(argv: string[]): Promise<void> {
  const args = parseArgs(argv, new Set(['in-memory']));
  if (args.positionals.length) throw new UsageError(`unexpected argument "${args.positionals[0]}"\n${HOST_USAGE}`);
  const unknown = [...args.options.keys()].filter((name) => !HOST_OPTIONS.has(name));
  if (unknown.length) throw new UsageError(`unknown option --${unknown[0]}\n${HOST_USAGE}`);
  const inMemory = args.options.get('in-memory') === true;
  const dataDir = stringOption(args, 'data');
  if (inMemory && dataDir) throw new UsageError('--data and --in-memory cannot be used together');
  const host = await startHost({
    appDir: stringOption(args, 'app') ?? packageRoot(),
    port: intOption(args, 'port', 0, 65535) ?? 7071,
    dataDir,
    inMemory,
  });
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await host.stop();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
