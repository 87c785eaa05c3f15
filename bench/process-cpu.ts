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
 * CPU milliseconds of this process's child processes started as `fnbatch agent`, each with the
 * task processes it has reaped; undefined where /proc is not there to read it (not Linux).
 */
export function agentsCpuMs(): number | undefined {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return undefined;
  }
  let ticks = 0;
  for (const pid of pids) {
    try {
      const fields = statFields(`/proc/${pid}/stat`);
      if (Number(fields[1]) !== process.pid) continue;
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes('agent')) continue;
      ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
    } catch {
      // The process ended while being read.
    }
  }
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
