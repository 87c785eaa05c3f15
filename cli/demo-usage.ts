export const DEMO_USAGE = `fnbatch demo [--keep]
  Starts a local host with a 2-node pool, runs examples/demo-job.json (a fan-out of 8 tasks and
  a fan-in) with live progress, prints the result, stops everything. Needs no network.
  --keep        leave the demo's data folder (task outputs, node logs) instead of deleting it`;
