// The Batch job/task domain: pure functions and types, no I/O, no clock, no randomness.
export * from './errors.js';
export * from './ids.js';
export * from './duration.js';
export * from './model.js';
export * from './validate.js';
export * from './graph.js';
export * from './dag.js';
export * from './exit-conditions.js';
export * from './dependency-outcome.js';
export * from './dispatch-order.js';
export * from './task-state.js';
export * from './odata.js';
export * from './placement.js';
