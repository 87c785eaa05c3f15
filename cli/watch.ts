// Watching a job until it is done: a progress bar redrawn in place on a terminal, plain lines
// otherwise, then a summary naming the failed tasks.
import { ServiceError, UnreachableError, type BatchClient, type Resource, type TaskCounts } from './batch-client.js';
import type { OutputStream } from './io.js';
import { countsText, failedTaskLine, formatElapsed } from './render.js';

export interface WatchOptions {
  /** Where the progress goes. */
  out: OutputStream;
  pollMs?: number;
  /** Plain lines are written at most this often (non-TTY). */
  lineEveryMs?: number;
  now?: () => number;
  /** Polls that may fail in a row (service restarting, throttled) before the watch gives up. */
  maxConsecutiveErrors?: number;
}

export interface WatchResult {
  jobId: string;
  jobState: string;
  counts: TaskCounts;
  elapsedMs: number;
  failedTasks: Resource[];
  /** True when every task completed and succeeded. */
  succeeded: boolean;
}

const MAX_LISTED_FAILURES = 20;
const JOB_COMPLETION_GRACE_MS = 10_000;
const UNCHANGED_LINE_EVERY_MS = 30_000;

export async function watchJob(client: BatchClient, jobId: string, options: WatchOptions): Promise<WatchResult> {
  const now = options.now ?? Date.now;
  const pollMs = options.pollMs ?? 250;
  const lineEveryMs = options.lineEveryMs ?? 1000;
  const maxErrors = options.maxConsecutiveErrors ?? 40;
  const tty = options.out.isTTY === true;
  const started = now();
  let lastLine = '';
  let lastLineAt = -Infinity;
  let errors = 0;
  let tasksDoneAt: number | undefined;
  for (;;) {
    let counts: TaskCounts;
    let job: Resource;
    try {
      [counts, job] = await Promise.all([client.taskCounts(jobId), client.getJob(jobId)]);
      errors = 0;
    } catch (err) {
      if (!isTransient(err) || ++errors > maxErrors) throw err;
      await sleep(pollMs * 2);
      continue;
    }
    const tasksDone = totalOf(counts) > 0 && counts.active + counts.running === 0;
    tasksDoneAt = tasksDone ? (tasksDoneAt ?? now()) : undefined;
    // A job set to terminate when its tasks are done completes a moment after its last task: wait
    // for that (briefly), so the summary states the job's real end.
    const jobWillComplete = job.onAllTasksComplete === 'terminatejob' && job.state !== 'disabled';
    const done =
      job.state === 'completed' ||
      (tasksDoneAt !== undefined && (!jobWillComplete || now() - tasksDoneAt >= JOB_COMPLETION_GRACE_MS));
    const elapsed = now() - started;
    if (tty) {
      options.out.write(`\r\x1b[2K${progressLine(counts, elapsed, barWidth(options.out.columns))}`);
      if (done) options.out.write('\n');
    } else {
      const line = `${jobId}: ${countsText(counts)}`;
      const since = now() - lastLineAt;
      // A line when the counts change (at most every lineEveryMs), and now and then regardless, so
      // a log shows the watch is alive while a long task runs.
      if (done || (line !== lastLine && since >= lineEveryMs) || since >= UNCHANGED_LINE_EVERY_MS) {
        options.out.write(`[${formatElapsed(elapsed)}] ${line}\n`);
        lastLine = line;
        lastLineAt = now();
      }
    }
    if (done) {
      const failedTasks = counts.failed > 0 ? await client.listTasks(jobId, { filter: "executionInfo/result eq 'failure'" }) : [];
      return {
        jobId,
        jobState: String(job.state),
        counts,
        elapsedMs: now() - started,
        failedTasks,
        succeeded: counts.failed === 0 && counts.active + counts.running === 0,
      };
    }
    await sleep(pollMs);
  }
}

/** `[#####>>>.....] 5/13  active 5  running 3  succeeded 4  failed 1  2.5 s` */
export function progressLine(c: TaskCounts, elapsedMs: number, width: number): string {
  const total = totalOf(c);
  const cells = (n: number) => (total === 0 ? 0 : Math.round((n / total) * width));
  const succeeded = cells(c.succeeded);
  const failed = Math.min(width - succeeded, cells(c.failed));
  const running = Math.min(width - succeeded - failed, cells(c.running));
  const bar = '#'.repeat(succeeded) + '!'.repeat(failed) + '>'.repeat(running);
  return (
    `[${bar.padEnd(width, '.')}] ${c.completed}/${total}  ` +
    `active ${c.active}  running ${c.running}  succeeded ${c.succeeded}  failed ${c.failed}  ${formatElapsed(elapsedMs)}`
  );
}

export function summaryText(r: WatchResult): string {
  const total = totalOf(r.counts);
  const lines = [
    `Job ${r.jobId} ${r.jobState === 'completed' ? 'completed' : 'finished its tasks'} in ${formatElapsed(r.elapsedMs)}: ` +
      `${total} task${total === 1 ? '' : 's'}, ${r.counts.succeeded} succeeded, ${r.counts.failed} failed.`,
  ];
  if (r.failedTasks.length) {
    lines.push('Failed tasks:');
    for (const t of r.failedTasks.slice(0, MAX_LISTED_FAILURES)) lines.push(`  ${failedTaskLine(t)}`);
    if (r.failedTasks.length > MAX_LISTED_FAILURES) {
      lines.push(`  ... and ${r.failedTasks.length - MAX_LISTED_FAILURES} more (fnbatch task list ${r.jobId} --state completed)`);
    }
  }
  return lines.join('\n') + '\n';
}

export function summaryJson(r: WatchResult): Record<string, unknown> {
  return {
    jobId: r.jobId,
    state: r.jobState,
    taskCounts: r.counts,
    elapsedMs: r.elapsedMs,
    succeeded: r.succeeded,
    failedTasks: r.failedTasks.map((t) => ({ id: t.id, executionInfo: t.executionInfo })),
  };
}

function totalOf(c: TaskCounts): number {
  return c.active + c.running + c.completed;
}

function barWidth(columns: number | undefined): number {
  // Leave room for the counts after the bar on an 80-column terminal.
  return Math.max(10, Math.min(40, (columns ?? 80) - 75));
}

function isTransient(err: unknown): boolean {
  return err instanceof UnreachableError || (err instanceof ServiceError && (err.status >= 500 || err.status === 429));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
