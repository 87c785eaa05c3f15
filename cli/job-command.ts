// `fnbatch job submit|show|list|terminate`.
import { stringOption, UsageError } from './args.js';
import type { BatchClient } from './batch-client.js';
import { clientFor } from './client-command.js';
import type { CliIO, OutputStream } from './io.js';
import { readJobFile } from './job-file.js';
import { parseCommandArgs, positionals } from './options.js';
import { jobDetails, jobTable, printJson } from './render.js';
import { summaryJson, summaryText, watchJob, type WatchOptions } from './watch.js';

export const JOB_USAGE = `fnbatch job submit FILE.json|FILE.yaml [--watch] [--id JOB] [--pool POOL]
    (a Batch job body with its tasks in "tasks"; --id and --pool override the file's)
fnbatch job show ID
fnbatch job list
fnbatch job terminate ID [--reason R]`;

export async function jobCommand(argv: string[], io: CliIO): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'submit':
      return submit(rest, io);
    case 'show': {
      const args = parseCommandArgs(rest, [], [], JOB_USAGE);
      const [id] = positionals(args, ['a job id'], JOB_USAGE);
      const client = clientFor(args, io);
      const [job, counts] = await Promise.all([client.getJob(id!), client.taskCounts(id!)]);
      io.stdout.write(args.json ? printJson({ ...job, taskCounts: counts }) : jobDetails(job, counts));
      return 0;
    }
    case 'list': {
      const args = parseCommandArgs(rest, [], [], JOB_USAGE);
      positionals(args, [], JOB_USAGE);
      const jobs = await clientFor(args, io).listJobs();
      io.stdout.write(args.json ? printJson({ value: jobs }) : jobs.length ? jobTable(jobs) : 'No jobs.\n');
      return 0;
    }
    case 'terminate': {
      const args = parseCommandArgs(rest, ['reason'], [], JOB_USAGE);
      const [id] = positionals(args, ['a job id'], JOB_USAGE);
      await clientFor(args, io).terminateJob(id!, stringOption(args, 'reason'));
      if (!args.json) io.stdout.write(`Job ${id} is terminating.\n`);
      return 0;
    }
    case undefined:
      throw new UsageError(`job needs a subcommand\n${JOB_USAGE}`);
    default:
      throw new UsageError(`unknown job subcommand "${sub}"\n${JOB_USAGE}`);
  }
}

/** Submissions at least this large are announced before they are sent. */
const LARGE_SUBMISSION_BYTES = 1_000_000;

async function submit(argv: string[], io: CliIO): Promise<number> {
  const args = parseCommandArgs(argv, ['id', 'pool'], ['watch'], JOB_USAGE);
  const [file] = positionals(args, ['a job file'], JOB_USAGE);
  const body = readJobFile(file!, io.cwd);
  const id = stringOption(args, 'id');
  if (id !== undefined) body.id = id;
  const pool = stringOption(args, 'pool');
  if (pool !== undefined) body.poolInfo = { ...(body.poolInfo as object | undefined), poolId: pool };
  const client = clientFor(args, io);
  const jobId = String(body.id);
  const taskCount = Array.isArray(body.tasks) ? body.tasks.length : 0;
  // A large job takes the service seconds to validate and store: say what is going on meanwhile.
  const bytes = Buffer.byteLength(JSON.stringify(body));
  if (bytes >= LARGE_SUBMISSION_BYTES) io.stderr.write(`Submitting job ${jobId}: ${taskCount} tasks, ${(bytes / 1e6).toFixed(1)} MB...\n`);
  await client.submitJob(body);
  if (args.options.get('watch') !== true) {
    if (args.json) io.stdout.write(printJson(await client.getJob(jobId)));
    else io.stdout.write(`Job ${jobId} submitted with ${taskCount} task${taskCount === 1 ? '' : 's'}.\n`);
    return 0;
  }
  // With --json, stdout carries only the final JSON; progress goes to stderr.
  const progress = args.json ? io.stderr : io.stdout;
  if (!args.json) io.stdout.write(`Job ${jobId} submitted with ${taskCount} task${taskCount === 1 ? '' : 's'}; watching it.\n`);
  return watchAndSummarize(client, jobId, io, args.json, progress);
}

/** Watches a job to its end and prints the summary; 0 when every task succeeded. */
export async function watchAndSummarize(
  client: BatchClient,
  jobId: string,
  io: CliIO,
  json: boolean,
  progress: OutputStream,
  overrides: Partial<WatchOptions> = {},
): Promise<number> {
  const result = await watchJob(client, jobId, { ...overrides, out: progress });
  io.stdout.write(json ? printJson(summaryJson(result)) : summaryText(result));
  return result.succeeded ? 0 : 1;
}
