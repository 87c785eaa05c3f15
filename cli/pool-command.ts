// `fnbatch pool create|show|list|resize|nodes`.
import { intOption, stringOption, UsageError } from './args.js';
import { clientFor } from './client-command.js';
import type { CliIO } from './io.js';
import { readJobFile } from './job-file.js';
import { oneOf, parseCommandArgs, positionals, requiredOption } from './options.js';
import { nodeTable, poolDetails, poolTable, printJson } from './render.js';

export const POOL_USAGE = `fnbatch pool create --id ID --vm-size SIZE --nodes N [--low-priority N] [--slots N] [--fill spread|pack] [--start-task CMD]
fnbatch pool create FILE.json|FILE.yaml     (a Batch pool body)
fnbatch pool show ID
fnbatch pool list
fnbatch pool resize ID --nodes N [--low-priority N] [--deallocation requeue|terminate|taskcompletion|retaineddata]
fnbatch pool nodes ID`;

const MAX_NODES = 100_000;
const DEALLOCATION = ['requeue', 'terminate', 'taskcompletion', 'retaineddata'] as const;
const FILL_TYPES = ['spread', 'pack'] as const;
const CREATE_FLAGS = ['id', 'vm-size', 'nodes', 'low-priority', 'slots', 'fill', 'start-task'];

export async function poolCommand(argv: string[], io: CliIO): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'create':
      return create(rest, io);
    case 'show': {
      const args = parseCommandArgs(rest, [], [], POOL_USAGE);
      const [id] = positionals(args, ['a pool id'], POOL_USAGE);
      const pool = await clientFor(args, io).getPool(id!);
      io.stdout.write(args.json ? printJson(pool) : poolDetails(pool));
      return 0;
    }
    case 'list': {
      const args = parseCommandArgs(rest, [], [], POOL_USAGE);
      positionals(args, [], POOL_USAGE);
      const pools = await clientFor(args, io).listPools();
      io.stdout.write(args.json ? printJson({ value: pools }) : pools.length ? poolTable(pools) : 'No pools.\n');
      return 0;
    }
    case 'resize':
      return resize(rest, io);
    case 'nodes': {
      const args = parseCommandArgs(rest, [], [], POOL_USAGE);
      const [id] = positionals(args, ['a pool id'], POOL_USAGE);
      const nodes = await clientFor(args, io).listNodes(id!);
      io.stdout.write(args.json ? printJson({ value: nodes }) : nodes.length ? nodeTable(nodes) : `Pool ${id} has no nodes.\n`);
      return 0;
    }
    case undefined:
      throw new UsageError(`pool needs a subcommand\n${POOL_USAGE}`);
    default:
      throw new UsageError(`unknown pool subcommand "${sub}"\n${POOL_USAGE}`);
  }
}

async function create(argv: string[], io: CliIO): Promise<number> {
  const args = parseCommandArgs(argv, CREATE_FLAGS, [], POOL_USAGE);
  let body: Record<string, unknown>;
  if (args.positionals.length) {
    const [file] = positionals(args, ['a pool file'], POOL_USAGE);
    const flags = CREATE_FLAGS.filter((f) => args.options.has(f));
    if (flags.length) throw new UsageError(`--${flags[0]} cannot be combined with a pool file\n${POOL_USAGE}`);
    body = readJobFile(file!, io.cwd);
  } else {
    body = {
      id: requiredOption(args, 'id', POOL_USAGE),
      vmSize: requiredOption(args, 'vm-size', POOL_USAGE),
      targetDedicatedNodes: requiredInt(args, 'nodes'),
    };
    const low = intOption(args, 'low-priority', 0, MAX_NODES);
    if (low !== undefined) body.targetLowPriorityNodes = low;
    const slots = intOption(args, 'slots', 1, 256);
    if (slots !== undefined) body.taskSlotsPerNode = slots;
    const fill = oneOf(args, 'fill', FILL_TYPES);
    if (fill !== undefined) body.taskSchedulingPolicy = { nodeFillType: fill };
    const startTask = stringOption(args, 'start-task');
    if (startTask !== undefined) body.startTask = { commandLine: startTask, waitForSuccess: true };
  }
  const client = clientFor(args, io);
  await client.createPool(body);
  const id = String(body.id);
  if (args.json) io.stdout.write(printJson(await client.getPool(id)));
  else io.stdout.write(`Pool ${id} created; its nodes are starting (fnbatch pool nodes ${id}).\n`);
  return 0;
}

async function resize(argv: string[], io: CliIO): Promise<number> {
  const args = parseCommandArgs(argv, ['nodes', 'low-priority', 'deallocation'], [], POOL_USAGE);
  const [id] = positionals(args, ['a pool id'], POOL_USAGE);
  const dedicated = intOption(args, 'nodes', 0, MAX_NODES);
  const low = intOption(args, 'low-priority', 0, MAX_NODES);
  if (dedicated === undefined && low === undefined) throw new UsageError(`--nodes or --low-priority is required\n${POOL_USAGE}`);
  const body: Record<string, unknown> = {};
  if (dedicated !== undefined) body.targetDedicatedNodes = dedicated;
  if (low !== undefined) body.targetLowPriorityNodes = low;
  const deallocation = oneOf(args, 'deallocation', DEALLOCATION);
  if (deallocation) body.nodeDeallocationOption = deallocation;
  const client = clientFor(args, io);
  await client.resizePool(id!, body);
  if (args.json) io.stdout.write(printJson(await client.getPool(id!)));
  else io.stdout.write(`Pool ${id} is resizing.\n`);
  return 0;
}

function requiredInt(args: ReturnType<typeof parseCommandArgs>, name: string): number {
  const value = intOption(args, name, 0, MAX_NODES);
  if (value === undefined) throw new UsageError(`--${name} is required\n${POOL_USAGE}`);
  return value;
}
