import { MemoryWorkQueue } from '../../shared/adapters/memory-work-queue.js';
import { realClock } from '../../local-host/contracts.js';
import { VirtualClock } from '../../local-host/virtual-clock.js';
import { sleep, workQueueConformance } from './work-queue.suite.js';

workQueueConformance('memory, virtual time', async () => {
  const clock = new VirtualClock();
  return {
    queue: new MemoryWorkQueue('tasks', clock),
    cleanup: async () => {},
    elapse: async (ms) => clock.advance(ms),
  };
});

// The same adapter on the real clock: what the local host runs.
workQueueConformance('memory, real time', async () => ({
  queue: new MemoryWorkQueue('tasks', realClock),
  cleanup: async () => {},
  elapse: sleep,
}));
