// Registers the job orchestration and its activities with Durable Functions.
import * as df from 'durable-functions';
import { appContext } from '../shared/app/context.js';
import { jobKey } from '../shared/app/documents.js';
import { JOB_ORCHESTRATOR } from '../shared/app/job-events.js';
import { checkInflight, failUpstream, finishJob, loadJobSnapshot, loadTasks, setJobState } from '../shared/app/job-runner.js';
import { dispatchTasks } from '../shared/app/task-lifecycle.js';
import type { UpstreamFailure } from '../shared/batch/index.js';
import { ACTIVITIES } from './activity-names.js';
import { jobOrchestrator } from './job-orchestrator.js';

df.app.orchestration(JOB_ORCHESTRATOR, jobOrchestrator);

df.app.activity(ACTIVITIES.loadSnapshot, {
  handler: async (jobId: string) => loadJobSnapshot(await appContext(), jobId),
});

df.app.activity(ACTIVITIES.loadTasks, {
  handler: async ({ jobId, taskIds }: { jobId: string; taskIds: string[] }) =>
    loadTasks(await appContext(), jobKey(jobId), new Set(taskIds.map((id) => id.toLowerCase()))),
});

df.app.activity(ACTIVITIES.dispatch, {
  handler: async ({ jobId, taskIds }: { jobId: string; taskIds: string[] }) => dispatchTasks(await appContext(), jobId, taskIds),
});

df.app.activity(ACTIVITIES.failUpstream, {
  handler: async ({ jobId, failures }: { jobId: string; failures: UpstreamFailure[] }) => {
    await failUpstream(await appContext(), jobId, failures);
    return failures.length;
  },
});

df.app.activity(ACTIVITIES.finishJob, {
  handler: async ({ jobId, reason }: { jobId: string; reason: string }) => {
    await finishJob(await appContext(), jobId, reason);
    return reason;
  },
});

df.app.activity(ACTIVITIES.disableJob, {
  handler: async (jobId: string) => {
    await setJobState(await appContext(), jobId, 'disabled');
    return 'disabled';
  },
});

df.app.activity(ACTIVITIES.watchdog, {
  handler: async ({ jobId, taskIds }: { jobId: string; taskIds: string[] }) => checkInflight(await appContext(), jobId, taskIds),
});
