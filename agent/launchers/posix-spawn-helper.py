# The node agent's posix-spawn helper (agent/launchers/posix-spawn.ts): starts task processes with
# posix_spawn, whose cost does not grow with the memory of the process that asks, unlike the fork
# Node.js makes for child_process.spawn. It says {"ready": true} once, then reads one JSON request
# per line on stdin and writes JSON replies, one per line, on stdout:
#   {"start": ID, "argv": [...], "cwd": DIR, "env": {...}, "stdout": PATH, "stderr": PATH,
#    "killGroupOnExit": BOOL}
#     -> {"exited": ID, "pid": PID, "code": N} or {"exited": ID, "pid": PID, "signal": N}
#     -> or {"failed": ID, "errno": "ENOENT", "message": "..."} when the program cannot be started
#     -> and, not in a hurry, {"started": ID, "pid": PID} while it runs
#   {"kill": ID} -> SIGKILL to the process group of ID, if it still runs
# Each process leads a new session (its own process group), so a kill reaches all it started.
# Replies are written together: an exit or failure at once, with any "started" waiting; "started"
# alone only after STARTED_DELAY_S. Every write wakes the agent, which on a small VM costs it more
# than the reply is worth; the agent needs the pids only if this helper dies (to kill orphans).
# The helper exits when its stdin closes; it does not wait for the processes it started.
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
        self.running = {}  # pid -> (id, kill group on exit)
        self.pids = {}  # id -> pid
        self.urgent = []
        self.started = []
        self.started_since = None

    def handle(self, request):
        if 'kill' in request:
            pid = self.pids.get(request['kill'])
            if pid is not None:
                kill_group(pid)
        elif 'start' in request:
            self.start(request)

    def start(self, request):
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
            return
        self.running[pid] = (ident, bool(request.get('killGroupOnExit')))
        self.pids[ident] = pid
        self.started.append({'started': ident, 'pid': pid})
        if self.started_since is None:
            self.started_since = time.monotonic()

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
            ident, kill_on_exit = entry
            del self.pids[ident]
            if kill_on_exit:
                kill_group(pid)
            if os.WIFSIGNALED(status):
                self.urgent.append({'exited': ident, 'pid': pid, 'signal': os.WTERMSIG(status)})
            else:
                self.urgent.append({'exited': ident, 'pid': pid, 'code': os.WEXITSTATUS(status)})

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
