export const ACTIVITIES = {
  loadSnapshot: 'jobLoadSnapshot',
  loadTasks: 'jobLoadTasks',
  dispatch: 'jobDispatch',
  failUpstream: 'jobFailUpstream',
  finishJob: 'jobFinish',
  disableJob: 'jobDisable',
  watchdog: 'jobWatchdog',
} as const;
