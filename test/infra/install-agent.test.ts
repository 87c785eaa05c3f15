// agent/install/install-agent.sh, run for real as root into a temporary root: it unpacks the
// package, adds the service user to that root's /etc/passwd, and writes the environment file and
// the systemd unit. Node.js install and systemctl are skipped (no network, no systemd here).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AGENT_ENV } from '../../shared/agent-protocol.js';
import { repoRoot } from './templates.js';

const script = path.join(repoRoot, 'agent/install/install-agent.sh');
const isRoot = process.platform === 'linux' && process.getuid?.() === 0;
const hasTools = spawnSync('sh', ['-c', 'command -v useradd && command -v tar'], { stdio: 'ignore' }).status === 0;

let work: string;
let root: string;

beforeEach(() => {
  work = mkdtempSync(path.join(os.tmpdir(), 'fnbatch-install-'));
  root = path.join(work, 'root');
  mkdirSync(root);
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

/** A release package: a .tar.gz of a tree holding bin/fnbatch.js and the unit template. */
function makePackage(marker: string): string {
  const tree = path.join(work, `pkg-${marker}`);
  mkdirSync(path.join(tree, 'bin'), { recursive: true });
  mkdirSync(path.join(tree, 'agent/install'), { recursive: true });
  writeFileSync(path.join(tree, 'bin/fnbatch.js'), `// ${marker}\n`);
  writeFileSync(path.join(tree, 'agent/install/fnbatch-agent.service'), readFileSync(path.join(repoRoot, 'agent/install/fnbatch-agent.service')));
  const file = path.join(work, `fnbatch-${marker}.tar.gz`);
  execFileSync('tar', ['-czf', file, '-C', tree, '.']);
  return file;
}

function writeEnvFile(lines: string[]): string {
  const file = path.join(work, 'bootstrap.env');
  writeFileSync(file, lines.join('\n') + '\n', { mode: 0o600 });
  return file;
}

const deploymentEnv = [
  `${AGENT_ENV.endpoint}=https://func-fnbatch-x.azurewebsites.net/api`,
  `${AGENT_ENV.key}=not-a-real-key"with\\quote`,
  `${AGENT_ENV.poolId}=default`,
  `${AGENT_ENV.isDedicated}=false`,
  `${AGENT_ENV.taskSlots}=4`,
  `${AGENT_ENV.storage}=https://stfnbatchx.queue.core.windows.net/`,
  'AZURE_CLIENT_ID=00000000-0000-0000-0000-000000000001',
  'FNBATCH_API_AUTH=keys',
  'FNBATCH_API_AUDIENCE=',
];

function run(args: string[], env: Record<string, string> = {}) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('FNBATCH_') && k !== 'AZURE_CLIENT_ID'));
  return spawnSync('bash', [script, '--root', root, ...args], {
    encoding: 'utf8',
    env: { ...clean, FNBATCH_SKIP_NODE_INSTALL: '1', FNBATCH_NODE_BIN: '/usr/bin/node', ...env },
    timeout: 60_000,
  });
}

/** Parses systemd's EnvironmentFile syntax as the script writes it (double-quoted, \-escaped). */
function readEnvironmentFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([A-Z_][A-Z0-9_]*)="((?:[^"\\]|\\.)*)"$/.exec(line);
    if (!m) throw new Error(`bad line ${line}`);
    out[m[1]!] = m[2]!.replace(/\\(.)/g, '$1');
  }
  return out;
}

describe.skipIf(!isRoot || !hasTools)('install-agent.sh (as root, into a temporary root)', () => {
  it('installs the package, the service user, the environment file and the unit', () => {
    const hostPasswd = readFileSync('/etc/passwd', 'utf8');
    const result = run(['--package', makePackage('v1'), '--env-file', writeEnvFile(deploymentEnv)], { [AGENT_ENV.nodeId]: 'fnbatch-default-spot_1a2b3c4d' });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).not.toContain('not-a-real-key');

    expect(readFileSync(path.join(root, 'opt/fnbatch/bin/fnbatch.js'), 'utf8')).toBe('// v1\n');

    const passwd = readFileSync(path.join(root, 'etc/passwd'), 'utf8').split('\n').filter((l) => l.startsWith('fnbatch:'));
    expect(passwd).toHaveLength(1);
    const [, , uid, gid, , home, shell] = passwd[0]!.split(':');
    expect(Number(uid)).toBeLessThan(1000);
    expect(home).toBe('/var/lib/fnbatch');
    expect(shell).toBe('/usr/sbin/nologin');
    expect(readFileSync('/etc/passwd', 'utf8')).toBe(hostPasswd);

    const work = statSync(path.join(root, 'var/lib/fnbatch/work'));
    expect(work.uid).toBe(Number(uid));
    expect(work.gid).toBe(Number(gid));

    const envPath = path.join(root, 'etc/fnbatch/agent.env');
    const envStat = statSync(envPath);
    expect(envStat.mode & 0o777).toBe(0o600);
    expect(envStat.uid).toBe(0);
    const env = readEnvironmentFile(readFileSync(envPath, 'utf8'));
    expect(env).toMatchObject({
      [AGENT_ENV.endpoint]: 'https://func-fnbatch-x.azurewebsites.net/api',
      [AGENT_ENV.key]: 'not-a-real-key"with\\quote',
      [AGENT_ENV.poolId]: 'default',
      [AGENT_ENV.isDedicated]: 'false',
      [AGENT_ENV.taskSlots]: '4',
      [AGENT_ENV.storage]: 'https://stfnbatchx.queue.core.windows.net/',
      [AGENT_ENV.nodeId]: 'fnbatch-default-spot_1a2b3c4d',
      [AGENT_ENV.workDir]: '/var/lib/fnbatch/work',
      AZURE_CLIENT_ID: '00000000-0000-0000-0000-000000000001',
    });

    const unit = readFileSync(path.join(root, 'etc/systemd/system/fnbatch-agent.service'), 'utf8');
    expect(unit).toMatch(/^User=fnbatch$/m);
    expect(unit).toMatch(/^Group=fnbatch$/m);
    expect(unit).toMatch(/^EnvironmentFile=\/etc\/fnbatch\/agent\.env$/m);
    expect(unit).toMatch(/^ExecStart=\/usr\/bin\/node \/opt\/fnbatch\/bin\/fnbatch\.js agent$/m);
    expect(unit).toMatch(/^Restart=always$/m);
    expect(unit).toMatch(/^WantedBy=multi-user\.target$/m);
    expect(unit).not.toMatch(/@[A-Z]+@/);
    expect(statSync(path.join(root, 'etc/systemd/system/fnbatch-agent.service')).mode & 0o777).toBe(0o644);
  });

  it('runs again cleanly: replaces the package, keeps one user, lets the environment win over the file', () => {
    const envFile = writeEnvFile(deploymentEnv);
    expect(run(['--package', makePackage('v1'), '--env-file', envFile]).status).toBe(0);
    const second = run(['--package', makePackage('v2'), '--env-file', envFile], { [AGENT_ENV.taskSlots]: '8' });
    expect(second.status, second.stderr).toBe(0);
    expect(readFileSync(path.join(root, 'opt/fnbatch/bin/fnbatch.js'), 'utf8')).toBe('// v2\n');
    expect(existsSync(path.join(root, 'opt/fnbatch.old'))).toBe(false);
    expect(readFileSync(path.join(root, 'etc/passwd'), 'utf8').match(/^fnbatch:/gm)).toHaveLength(1);
    const env = readEnvironmentFile(readFileSync(path.join(root, 'etc/fnbatch/agent.env'), 'utf8'));
    expect(env[AGENT_ENV.taskSlots]).toBe('8');
    // Without an id given, a node outside Azure is named after its host.
    expect(env[AGENT_ENV.nodeId]).toBe(os.hostname());
  });

  it('refuses a missing required setting before changing anything', () => {
    const result = run(['--package', makePackage('v1'), '--env-file', writeEnvFile(deploymentEnv.filter((l) => !l.startsWith(AGENT_ENV.storage)))]);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain(AGENT_ENV.storage);
    expect(existsSync(path.join(root, 'opt/fnbatch'))).toBe(false);
    expect(existsSync(path.join(root, 'etc/fnbatch/agent.env'))).toBe(false);
  });

  it('refuses unexpected variables and packages without the CLI', () => {
    const odd = run(['--package', makePackage('v1'), '--env-file', writeEnvFile([...deploymentEnv, 'LD_PRELOAD=/tmp/x.so'])]);
    expect(odd.status).not.toBe(0);
    expect(odd.stderr).toContain('LD_PRELOAD');

    const empty = path.join(work, 'empty');
    mkdirSync(empty);
    writeFileSync(path.join(empty, 'README'), 'no cli\n');
    const bad = path.join(work, 'bad.tar.gz');
    execFileSync('tar', ['-czf', bad, '-C', empty, '.']);
    const result = run(['--package', bad, '--env-file', writeEnvFile(deploymentEnv)]);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('bin/fnbatch.js');
  });
});

describe('the cloud-init bootstrap and the install script agree', () => {
  it('every setting the install script requires is written by cloud-init', () => {
    const required = /REQUIRED_KEYS=\(([^)]*)\)/.exec(readFileSync(script, 'utf8'))![1]!.trim().split(/\s+/);
    const cloudInit = readFileSync(path.join(repoRoot, 'infra/app/node-cloud-init.yaml'), 'utf8');
    expect(required.length).toBeGreaterThan(0);
    for (const key of required) expect(cloudInit).toMatch(new RegExp(`^\\s+${key}=\\{\\d+\\}$`, 'm'));
  });
});
