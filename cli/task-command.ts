// `fnbatch task list|output`.
import { intOption, UsageError } from './args.js';
import type { BatchClient } from './batch-client.js';
import { clientFor } from './client-command.js';
import type { CliIO, OutputStream } from './io.js';
import { oneOf, parseCommandArgs, positionals } from './options.js';
import { printJson, taskTable } from './render.js';

export const TASK_USAGE = `fnbatch task list JOB [--state active|preparing|running|completed] [--page-size N]
fnbatch task output JOB TASK [--stderr] [--follow]`;

const TASK_STATES = ['active', 'preparing', 'running', 'completed'] as const;
const CHUNK_BYTES = 4 * 1024 * 1024;

const FOLLOW_POLL_MS = 500;

export async function taskCommand(argv: string[], io: CliIO): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'list': {
      const args = parseCommandArgs(rest, ['state', 'page-size'], [], TASK_USAGE);
      const [jobId] = positionals(args, ['a job id'], TASK_USAGE);
      const state = oneOf(args, 'state', TASK_STATES);
      const pageSize = intOption(args, 'page-size', 1, 1000);
      const tasks = await clientFor(args, io).listTasks(jobId!, {
        ...(state ? { filter: `state eq '${state}'` } : {}),
        ...(pageSize ? { pageSize } : {}),
      });
      io.stdout.write(args.json ? printJson({ value: tasks }) : tasks.length ? taskTable(tasks) : 'No tasks.\n');
      return 0;
    }
    case 'output': {
      const args = parseCommandArgs(rest, [], ['stderr', 'follow'], TASK_USAGE);
      const [jobId, taskId] = positionals(args, ['a job id', 'a task id'], TASK_USAGE);
      if (args.json) throw new UsageError(`task output prints the file itself; --json does not apply\n${TASK_USAGE}`);
      const file = args.options.get('stderr') === true ? 'stderr.txt' : 'stdout.txt';
      const client = clientFor(args, io);
      if (args.options.get('follow') === true) await followOutput(client, jobId!, taskId!, file, io.stdout, FOLLOW_POLL_MS);
      else await copyFrom(client, jobId!, taskId!, file, 0, io.stdout);
      return 0;
    }
    case undefined:
      throw new UsageError(`task needs a subcommand\n${TASK_USAGE}`);
    default:
      throw new UsageError(`unknown task subcommand "${sub}"\n${TASK_USAGE}`);
  }
}

/** Writes the file's bytes from `offset` to its current end; returns the new offset. */
export async function copyFrom(client: BatchClient, jobId: string, taskId: string, file: string, offset: number, out: OutputStream): Promise<number> {
  for (;;) {
    const chunk = await client.readFile(jobId, taskId, file, offset, CHUNK_BYTES);
    if (chunk.status === 416 || chunk.data.length === 0) return offset;
    out.write(chunk.data);
    offset += chunk.data.length;
    if (chunk.data.length < CHUNK_BYTES && (chunk.size === undefined || offset >= chunk.size)) return offset;
  }
}

/**
 * Tails a task's file until the task completes. Before the task starts its file does not exist
 * (FileNotFound); that is waited out like an empty file.
 */
export async function followOutput(client: BatchClient, jobId: string, taskId: string, file: string, out: OutputStream, pollMs: number): Promise<void> {
  let offset = 0;
  for (;;) {
    // Read the state first: output written before the task completed is then already in the blob.
    const task = await client.getTask(jobId, taskId);
    offset = await copyIfPresent(client, jobId, taskId, file, offset, out);
    if (task.state === 'completed') return;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

async function copyIfPresent(client: BatchClient, jobId: string, taskId: string, file: string, offset: number, out: OutputStream): Promise<number> {
  try {
    return await copyFrom(client, jobId, taskId, file, offset, out);
  } catch (err) {
    if ((err as { code?: string }).code === 'FileNotFound') return offset;
    throw err;
  }
}
