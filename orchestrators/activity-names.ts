export const ACTIVITIES = {
  loadHeader: 'jobLoadHeader',
  advance: 'jobAdvance',
  finishJob: 'jobFinish',
  disableJob: 'jobDisable',
} as const;
