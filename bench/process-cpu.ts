// CPU time spent by the benchmark's own process (or its main thread alone) and by the local agents
// it started (with the task processes they ran), so a run can say what each task cost in CPU, not
// only in wall time: on a small machine the control plane, the agents and the work share the same
// cores.
import { readdirSync, readFileSync } from 'node:fs';

/** Linux reports process times in clock ticks of 1/100 s (USER_HZ), whatever the kernel's own rate. */
const TICK_MS = 10;

/** The fields of a /proc stat file after "(comm) ": state, ppid, ... utime (11th), stime, cutime, cstime. */
function statFields(path: string): string[] {
  const stat = readFileSync(path, 'utf8');
  // The command name may itself hold ") ": the fields start after the last one.
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** CPU milliseconds of this process, every thread included. */
export function ownCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/**
 * CPU milliseconds of this process's child processes started as `fnbatch agent` and of every
 * process below them (an agent's process launcher and the task processes it runs), each with the
 * children it has reaped; undefined where /proc is not there to read it (not Linux).
 */
export function agentsCpuMs(): number | undefined {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return undefined;
  }
  const processes = new Map<number, { parent: number; ticks: number }>();
  for (const pid of pids) {
    try {
      const fields = statFields(`/proc/${pid}/stat`);
      processes.set(Number(pid), { parent: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]) });
    } catch {
      // The process ended while being read.
    }
  }
  const agents = new Set<number>();
  for (const [pid, { parent }] of processes) {
    if (parent !== process.pid) continue;
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes('agent')) agents.add(pid);
    } catch {
      // Ended meanwhile.
    }
  }
  const underAgent = (pid: number): boolean => {
    for (let at: number | undefined = pid, hops = 0; at !== undefined && at > 1 && hops < 64; hops++) {
      if (agents.has(at)) return true;
      at = processes.get(at)?.parent;
    }
    return false;
  };
  let ticks = 0;
  for (const [pid, { ticks: own }] of processes) if (underAgent(pid)) ticks += own;
  return ticks * TICK_MS;
}

/** CPU milliseconds of this process's main thread, or undefined where /proc is not there to read it. */
export function mainThreadCpuMs(): number | undefined {
  try {
    const fields = statFields(`/proc/self/task/${process.pid}/stat`);
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return undefined;
  }
}
