# The node agent's posix-spawn helper (agent/launchers/posix-spawn.ts): starts task processes with
# posix_spawn, whose cost does not grow with the memory of the process that asks, unlike the fork
# Node.js makes for child_process.spawn. It says {"ready": true} once, then reads one JSON request
# per line on stdin and writes one JSON reply per line on stdout:
#   {"start": ID, "argv": [...], "cwd": DIR, "env": {...}, "stdout": PATH, "stderr": PATH}
#     -> {"started": ID, "pid": PID}, then {"exited": ID, "code": N} or {"exited": ID, "signal": N}
#     -> or {"failed": ID, "errno": "ENOENT", "message": "..."} when the program cannot be started
# Each process leads a new session (its own process group), so the agent can kill the whole group.
# The launcher exits when its stdin closes; it does not wait for the processes it started.
import errno
import json
import os
import selectors
import signal
import sys


# Python ignores SIGPIPE and SIGXFSZ, and this helper SIGINT; a task must start with the defaults.
RESTORED_SIGNALS = (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGINT)


def program_path(program, env):
    if '/' in program:
        return program
    for folder in env.get('PATH', os.defpath).split(os.pathsep):
        candidate = os.path.join(folder or '.', program)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    raise OSError(errno.ENOENT, 'not found on PATH')


def start(request, running, reply):
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
        # posix_spawn has no working-directory action here: the launcher moves itself there.
        os.chdir(request['cwd'])
        pid = os.posix_spawn(path, argv, env, file_actions=actions, setsid=True, setsigmask=(), setsigdef=RESTORED_SIGNALS)
    except OSError as error:
        code = errno.errorcode.get(error.errno, 'EIO') if error.errno else 'EIO'
        reply({'failed': ident, 'errno': code, 'message': error.strerror or str(error)})
        return
    running[pid] = ident
    reply({'started': ident, 'pid': pid})


def reap(running, reply):
    while running:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        ident = running.pop(pid, None)
        if ident is None:
            continue
        if os.WIFSIGNALED(status):
            reply({'exited': ident, 'signal': os.WTERMSIG(status)})
        else:
            reply({'exited': ident, 'code': os.WEXITSTATUS(status)})


def main():
    if sys.version_info < (3, 8):
        sys.exit('the posix-spawn helper needs Python 3.8 or later (posix_spawn with setsid)')
    out = sys.stdout

    def reply(message):
        out.write(json.dumps(message, separators=(',', ':')) + '\n')

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
    running = {}
    pending = b''
    reply({'ready': True})
    out.flush()
    while True:
        for key, _ in selector.select():
            if key.data == 'children':
                try:
                    while os.read(wake_read, 512):
                        pass
                except BlockingIOError:
                    pass
                reap(running, reply)
            else:
                chunk = os.read(0, 65536)
                if not chunk:
                    return
                pending += chunk
                *lines, pending = pending.split(b'\n')
                for line in lines:
                    if line.strip():
                        try:
                            request = json.loads(line)
                        except ValueError as error:
                            sys.stderr.write(f'posix-spawn helper: ignored a request that is not JSON: {error}\n')
                            continue
                        start(request, running, reply)
        # A child may exit between a reap and the next select: the wakeup byte covers it.
        out.flush()


if __name__ == '__main__':
    main()
