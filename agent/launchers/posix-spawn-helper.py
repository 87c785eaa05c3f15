# The node agent's posix-spawn helper (agent/launchers/posix-spawn.ts): starts task processes with
# posix_spawn, whose cost does not grow with the memory of the process that asks, unlike the fork
# Node.js makes for child_process.spawn. It says {"ready": true} once, then reads one JSON request
# per line on stdin and writes JSON replies, one per line, on stdout:
#   {"start": ID, "argv": [...], "cwd": DIR, "env": {...}, "stdout": PATH, "stderr": PATH,
#    "killGroupOnExit": BOOL}
#     -> {"exited": ID, "pid": PID, "code": N, "at": MS} or {..., "signal": N, "at": MS} (MS: when
#        it was reaped, epoch milliseconds)
#     -> or {"failed": ID, "errno": "ENOENT", "message": "..."} when the program cannot be started
#     -> and, not in a hurry, {"started": ID, "pid": PID} while it runs
#   {"kill": ID} -> SIGKILL to the process group of ID, if it still runs
#   A start with "standby": true is not started now but queued: each time a process started with
#   "slots": N exits, up to N queued processes start at once, in order, before the exit is told.
#     -> {"started": ID, "pid": PID, "at": MS} at once (MS: the start, epoch milliseconds), then
#     -> the exit of the process whose slot it took, with "handed": how many slots it gave over
#   {"kill": ID} for a queued process takes it off the queue -> {"cancelled": ID}
#   {"now": ID} starts a queued process at once (the agent has a free slot for it)
#     -> {"started": ID, "pid": PID, "at": MS, "now": true}, or {"notNow": ID} if it is no longer
#        queued (an exit started it, or it was cancelled), or {"failed": ...} as for any start
# Each process leads a new session (its own process group), so a kill reaches all it started.
# Replies are written together: an exit or failure at once, with any "started" waiting; "started"
# alone only after STARTED_DELAY_S. Every write wakes the agent, which on a small VM costs it more
# than the reply is worth; the agent needs the pids only if this helper dies (to kill orphans).
# The helper exits when its stdin closes; it does not wait for the processes it started.
import collections
import errno
import json
import os
import selectors
import signal
import sys
import time

# Python ignores SIGPIPE and SIGXFSZ, and this helper SIGINT; a task must start with the defaults.
RESTORED_SIGNALS = (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGINT)
STARTED_DELAY_S = 0.25


def program_path(program, env):
    if '/' in program:
        return program
    for folder in env.get('PATH', os.defpath).split(os.pathsep):
        candidate = os.path.join(folder or '.', program)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    raise OSError(errno.ENOENT, 'not found on PATH')


def kill_group(pid):
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass  # already gone


class Helper:
    def __init__(self, out):
        self.out = out
        self.running = {}  # pid -> (id, kill group on exit, slots)
        self.pids = {}  # id -> pid
        self.standby = collections.OrderedDict()  # id -> request, started in order as slots free
        self.urgent = []
        self.started = []
        self.started_since = None

    def handle(self, request):
        if 'kill' in request:
            ident = request['kill']
            if self.standby.pop(ident, None) is not None:
                self.urgent.append({'cancelled': ident})
                return
            pid = self.pids.get(ident)
            if pid is not None:
                kill_group(pid)
        elif 'now' in request:
            ident = request['now']
            queued = self.standby.pop(ident, None)
            if queued is None:
                self.urgent.append({'notNow': ident})
            elif self.start(queued, urgent=True):
                self.urgent[-1]['now'] = True
        elif 'start' in request:
            if request.get('standby'):
                self.standby[request['start']] = request
            else:
                self.start(request)

    def start(self, request, urgent=False):
        """Starts the process; returns whether it started (a failure is told as such)."""
        ident = request['start']
        try:
            argv = request['argv']
            env = request['env']
            path = program_path(argv[0], env)
            out_flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
            actions = [
                (os.POSIX_SPAWN_OPEN, 0, '/dev/null', os.O_RDONLY, 0),
                (os.POSIX_SPAWN_OPEN, 1, request['stdout'], out_flags, 0o644),
                (os.POSIX_SPAWN_OPEN, 2, request['stderr'], out_flags, 0o644),
            ]
            # posix_spawn has no working-directory action here: the helper moves itself there.
            os.chdir(request['cwd'])
            pid = os.posix_spawn(path, argv, env, file_actions=actions, setsid=True, setsigmask=(), setsigdef=RESTORED_SIGNALS)
        except OSError as error:
            code = errno.errorcode.get(error.errno, 'EIO') if error.errno else 'EIO'
            self.urgent.append({'failed': ident, 'errno': code, 'message': error.strerror or str(error)})
            return False
        self.running[pid] = (ident, bool(request.get('killGroupOnExit')), int(request.get('slots', 1)))
        self.pids[ident] = pid
        if urgent:
            # The agent learns of a standby start only from this reply, sent with the exit whose
            # slot it took (or as the answer to a "now").
            self.urgent.append({'started': ident, 'pid': pid, 'at': round(time.time() * 1000, 3)})
            return True
        self.started.append({'started': ident, 'pid': pid})
        if self.started_since is None:
            self.started_since = time.monotonic()
        return True

    def start_standby(self, slots):
        """Starts queued processes in the slots an exit freed; returns how many slots were taken."""
        taken = 0
        while taken < slots and self.standby:
            _, request = self.standby.popitem(last=False)
            if self.start(request, urgent=True):
                taken += 1
        return taken

    def reap(self):
        while self.running:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            entry = self.running.pop(pid, None)
            if entry is None:
                continue
            ident, kill_on_exit, slots = entry
            ended_at = round(time.time() * 1000, 3)
            del self.pids[ident]
            # The next process starts before anything else, the exit's own reply included.
            handed = self.start_standby(slots)
            if kill_on_exit:
                kill_group(pid)
            reply = {'exited': ident, 'pid': pid, 'at': ended_at}
            if os.WIFSIGNALED(status):
                reply['signal'] = os.WTERMSIG(status)
            else:
                reply['code'] = os.WEXITSTATUS(status)
            if handed:
                reply['handed'] = handed
            self.urgent.append(reply)

    def flush(self):
        """Writes what is due; returns how long "started" replies may still wait (None: none wait)."""
        if self.started and not self.urgent and time.monotonic() - self.started_since < STARTED_DELAY_S:
            return STARTED_DELAY_S - (time.monotonic() - self.started_since)
        replies = self.started + self.urgent
        self.started, self.urgent, self.started_since = [], [], None
        if replies:
            self.out.write(''.join(json.dumps(r, separators=(',', ':')) + '\n' for r in replies))
            self.out.flush()
        return None


def main():
    if sys.version_info < (3, 8):
        sys.exit('the posix-spawn helper needs Python 3.8 or later (posix_spawn with setsid)')
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_read, False)
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    # Ctrl-C reaches the agent too, which decides what happens to its tasks; the helper lives
    # until the agent closes its stdin.
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    selector = selectors.DefaultSelector()
    selector.register(0, selectors.EVENT_READ, 'requests')
    selector.register(wake_read, selectors.EVENT_READ, 'children')
    helper = Helper(sys.stdout)
    helper.out.write(json.dumps({'ready': True}) + '\n')
    helper.out.flush()
    pending = b''
    timeout = None
    while True:
        for key, _ in selector.select(timeout):
            if key.data == 'children':
                try:
                    while os.read(wake_read, 512):
                        pass
                except BlockingIOError:
                    pass
                helper.reap()
            else:
                chunk = os.read(0, 65536)
                if not chunk:
                    return
                pending += chunk
                *lines, pending = pending.split(b'\n')
                for line in lines:
                    if not line.strip():
                        continue
                    try:
                        request = json.loads(line)
                    except ValueError as error:
                        sys.stderr.write(f'posix-spawn helper: ignored a request that is not JSON: {error}\n')
                        continue
                    helper.handle(request)
        # A child that exits after the reap above wakes the selector again (the wakeup byte).
        timeout = helper.flush()


if __name__ == '__main__':
    main()
