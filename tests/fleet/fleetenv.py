# SPDX-License-Identifier: MIT
"""Debian's PostgreSQL and mosquitto, started by a test or benchmark in a temporary directory
on loopback, and bodydiag-ingest instances. Nothing here uses a system service: CI starts
with none running.

PostgreSQL refuses to run as root: as root the cluster belongs to the `postgres` user (the
postgresql package creates it), or `nobody` when that is missing; otherwise to whoever runs.
"""
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time

PG_BIN = '/usr/lib/postgresql/15/bin'


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def wait_for(what, cond, timeout=20.0, proc=None, log=None):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        if proc is not None and proc.poll() is not None:
            tail = open(log).read()[-2000:] if log and os.path.exists(log) else ''
            raise RuntimeError(f'{what}: process exited with {proc.returncode}\n{tail}')
        time.sleep(0.05)
    raise RuntimeError(f'{what}: not within {timeout} s')


def pg_bin():
    for v in ('15', '16', '17'):
        d = f'/usr/lib/postgresql/{v}/bin'
        if os.path.exists(d + '/postgres'):
            return d
    raise RuntimeError('PostgreSQL server not found: install Debian\'s postgresql '
                       '(tools/install-deps)')


class Env:
    def __init__(self, name='fleet'):
        self.dir = tempfile.mkdtemp(prefix=f'bodydiag-{name}-')
        os.chmod(self.dir, 0o755)
        self.procs = []

    def cleanup(self):
        for p in self.procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait()
        if not os.environ.get('BODYDIAG_KEEP_TMP'):
            shutil.rmtree(self.dir, ignore_errors=True)

    def spawn(self, argv, log, **kw):
        # Own process group: a kill takes the whole tree (postgres and its backends).
        p = subprocess.Popen(argv, stdout=open(log, 'ab'), stderr=subprocess.STDOUT,
                             start_new_session=True, **kw)
        self.procs.append(p)
        return p


class Postgres:
    def __init__(self, env):
        self.env = env
        self.bin = pg_bin()
        self.data = os.path.join(env.dir, 'pg')
        self.sock = os.path.join(env.dir, 'pgsock')
        self.log = os.path.join(env.dir, 'postgres.log')
        self.port = free_port()
        self.proc = None
        self.user = None
        if os.geteuid() == 0:
            for name in ('postgres', 'nobody'):
                try:
                    self.user = pwd.getpwnam(name)
                    break
                except KeyError:
                    pass
        os.mkdir(self.data, 0o700)
        os.mkdir(self.sock, 0o755)
        if self.user:
            for d in (self.data, self.sock):
                os.chown(d, self.user.pw_uid, self.user.pw_gid)
            open(self.log, 'w').close()
            os.chown(self.log, self.user.pw_uid, self.user.pw_gid)
        self.run([self.bin + '/initdb', '-D', self.data, '-U', 'bodydiag', '--auth=trust',
                  '--no-sync', '-E', 'UTF8', '--locale=C'])
        self.conninfo = f'host={self.sock} port={self.port} user=bodydiag dbname=bodydiag'

    def _demote(self):
        if self.user:
            os.setgid(self.user.pw_gid)
            os.setgroups([])
            os.setuid(self.user.pw_uid)

    def run(self, argv):
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       preexec_fn=self._demote, cwd=self.env.dir)

    def start(self, create_db=False):
        self.proc = self.env.spawn(
            [self.bin + '/postgres', '-D', self.data, '-k', self.sock, '-p', str(self.port),
             '-c', 'listen_addresses=', '-c', 'max_connections=40',
             '-c', 'shared_buffers=64MB'], self.log, preexec_fn=self._demote, cwd=self.env.dir)
        wait_for('postgres start', lambda: self.sql_ok('postgres'), 30, self.proc, self.log)
        if create_db:
            self.psql('CREATE DATABASE bodydiag', db='postgres')

    def sql_ok(self, db):
        r = subprocess.run([self.bin + '/psql', '-h', self.sock, '-p', str(self.port), '-U',
                            'bodydiag', '-d', db, '-Atc', 'SELECT 1'],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        return r.returncode == 0

    def psql(self, sql, db='bodydiag'):
        r = subprocess.run([self.bin + '/psql', '-h', self.sock, '-p', str(self.port), '-U',
                            'bodydiag', '-d', db, '-v', 'ON_ERROR_STOP=1', '-AtF', '\t', '-c',
                            sql], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if r.returncode:
            raise RuntimeError(f'psql: {sql}: {r.stderr}')
        return [line.split('\t') for line in r.stdout.splitlines()]

    def kill(self):
        """SIGKILL to the postmaster and every backend: a crash, then recovery on start."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # fast shutdown
            self.proc.wait(30)


class Broker:
    def __init__(self, env):
        self.env = env
        self.port = free_port()
        self.conf = os.path.join(env.dir, 'mosquitto.conf')
        self.log = os.path.join(env.dir, 'mosquitto.log')
        self.proc = None
        lines = [f'listener {self.port} 127.0.0.1', 'allow_anonymous true',
                 'persistence true', f'persistence_location {env.dir}/',
                 'autosave_interval 5', 'max_queued_messages 100000',
                 'max_inflight_messages 100', 'log_dest stderr',
                 'log_type error', 'log_type warning', 'log_type notice']
        if os.geteuid() == 0:
            lines.append('user root')  # else it drops to "mosquitto", who may not write here
        open(self.conf, 'w').write('\n'.join(lines) + '\n')

    def start(self):
        self.proc = self.env.spawn(['/usr/sbin/mosquitto', '-c', self.conf], self.log)

        def listening():
            try:
                socket.create_connection(('127.0.0.1', self.port), 0.2).close()
                return True
            except OSError:
                return False
        wait_for('mosquitto start', listening, 10, self.proc, self.log)

    def kill(self):
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()


class Ingest:
    def __init__(self, env, exe, name, broker, pg, extra=''):
        self.env, self.exe, self.name = env, exe, name
        self.conf = os.path.join(env.dir, f'ingest-{name}.conf')
        self.log = os.path.join(env.dir, f'ingest-{name}.log')
        open(self.conf, 'w').write(
            f'[mqtt]\nhost = 127.0.0.1\nport = {broker.port}\nclient_id = ingest-{name}\n'
            f'keepalive = 10\nsession_expiry = 3600\n'
            f'[database]\nconninfo = {pg.conninfo} connect_timeout=5\n'
            f'[ingest]\nname = {name}\nretry_max = 2\n' + extra)
        self.proc = None

    def start(self):
        self.proc = self.env.spawn([self.exe, '-c', self.conf], self.log)
        wait_for(f'ingest {self.name} start', lambda: 'subscribed' in open(self.log).read(),
                 20, self.proc, self.log)

    def kill(self):
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(20)
        return self.proc.returncode

    def stats(self):
        for line in reversed(open(self.log).read().splitlines()):
            if 'ingest: stats' in line:
                return dict(kv.split('=', 1) for kv in line.split('stats ', 1)[1].split())
        return {}


def read_expected(path):
    return [json.loads(line) for line in open(path)]
