// Registers the job orchestration and its activities with Durable Functions.
import * as df from 'durable-functions';
import { appContext } from '../shared/app/context.js';
import { JOB_ORCHESTRATOR } from '../shared/app/job-events.js';
import { finishJob, loadJobHeader, setJobState } from '../shared/app/job-runner.js';
import { advanceJob, type AdvanceRequest } from '../shared/app/job-progress.js';
import { ACTIVITIES } from './activity-names.js';
import { jobOrchestrator } from './job-orchestrator.js';

df.app.orchestration(JOB_ORCHESTRATOR, jobOrchestrator);

df.app.activity(ACTIVITIES.loadHeader, {
  handler: async (jobId: string) => loadJobHeader(await appContext(), jobId),
});

df.app.activity(ACTIVITIES.advance, {
  handler: async (request: AdvanceRequest) => advanceJob(await appContext(), request),
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
