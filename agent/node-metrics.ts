// The node's load for heartbeats: CPU use since the previous sample, memory in use, disk in use
// under the work directory.
import { statfs } from 'node:fs/promises';
import os from 'node:os';
import type { NodeMetrics } from '../shared/agent-protocol.js';

export class NodeMetricsSampler {
  private previous = cpuTimes();

  constructor(private readonly workDir: string) {}

  async sample(): Promise<NodeMetrics> {
    const now = cpuTimes();
    const total = now.total - this.previous.total;
    const idle = now.idle - this.previous.idle;
    this.previous = now;
    const cpuPercent = total > 0 ? Math.round(Math.min(100, Math.max(0, (1 - idle / total) * 100)) * 10) / 10 : 0;
    const metrics: NodeMetrics = { cpuPercent, memoryBytes: os.totalmem() - os.freemem() };
    try {
      const disk = await statfs(this.workDir);
      metrics.diskBytes = (disk.blocks - disk.bfree) * disk.bsize;
    } catch {
      // Optional: leave it out.
    }
    return metrics;
  }
}

function cpuTimes(): { idle: number; total: number } {
  let idle = 0;
  let total = 0;
  for (const cpu of os.cpus()) {
    const t = cpu.times;
    idle += t.idle;
    total += t.user + t.nice + t.sys + t.idle + t.irq;
  }
  return { idle, total };
}
