// Compute nodes as local processes: each node is `node bin/fnbatch.js agent` with the agent's
// environment set, so a laptop is a small pool. Node ids are `<pool>-d<n>` (dedicated) and
// `<pool>-lp<n>` (low priority), n increasing and never reused. The provider only knows its
// processes: a node is creating until its agent prints its ready line, running while the process
// lives, failed when it exited non-zero on its own, evicted when evict() took it. An agent that
// exits 0 (it was told to shut down) leaves the list, as a deleted instance would.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { AGENT_ENV } from '../agent-protocol.js';
import {
  ScaleSetError,
  type NodePriority,
  type PoolScaleSetSpec,
  type ProvisionedNode,
  type ProvisionedNodeState,
  type ScaleSetProvider,
} from '../ports/scale-set-provider.js';
import { fnbatchPackageRoot } from '../package-root.js';

export interface LocalScaleSetProviderOptions {
  /** The agent API base URL, e.g. http://127.0.0.1:7071/api. */
  endpoint: string;
  agentKey: string;
  storageConnectionString: string;
  /** Nodes' work directories go under <workRoot>/<pool>/<node>, with the agent's log beside them. */
  workRoot: string;
  /** The fnbatch launcher; found from this module's location by default. */
  fnbatchBin?: string;
  log?: (line: string) => void;
  /** Extra environment for the agents (e.g. FNBATCH_LEASE_MS). */
  spawnEnv?: Record<string, string>;
  /** How long deleteNodes lets an agent wind down after SIGTERM before SIGKILL; default 30 s. */
  deleteGraceMs?: number;
}

interface LocalNode {
  nodeId: string;
  priority: NodePriority;
  state: ProvisionedNodeState;
  createdAt: number;
  child: ChildProcess;
  exited: Promise<void>;
  /** How the provider itself ended it, if it did. */
  endedBy?: 'delete' | 'evict' | 'crash';
}

interface LocalPool {
  spec: PoolScaleSetSpec;
  nodes: Map<string, LocalNode>;
  next: Record<NodePriority, number>;
}

const READY_LINE = 'fnbatch agent ready';

export class LocalScaleSetProvider implements ScaleSetProvider {
  private readonly pools = new Map<string, LocalPool>();
  private readonly fnbatchBin: string;
  private readonly log: (line: string) => void;

  constructor(private readonly options: LocalScaleSetProviderOptions) {
    this.fnbatchBin = options.fnbatchBin ?? path.join(fnbatchPackageRoot(), 'bin', 'fnbatch.js');
    this.log = options.log ?? (() => undefined);
  }

  async ensurePool(spec: PoolScaleSetSpec): Promise<void> {
    const pool = this.pools.get(spec.poolId);
    // Later nodes get the newer spec; running ones keep theirs, like a scale set's model update.
    if (pool) pool.spec = spec;
    else this.pools.set(spec.poolId, { spec, nodes: new Map(), next: { dedicated: 1, lowPriority: 1 } });
  }

  async growTo(poolId: string, priority: NodePriority, capacity: number, signal?: AbortSignal): Promise<void> {
    const pool = this.pool(poolId);
    if (!Number.isInteger(capacity) || capacity < 0) throw new ScaleSetError('Failed', `capacity must be a whole number, got ${capacity}`);
    // Like a scale set's capacity: failed instances still count, deleted and evicted ones do not.
    const counted = [...pool.nodes.values()].filter((n) => n.priority === priority && n.state !== 'deleting' && n.state !== 'evicted');
    for (let i = counted.length; i < capacity; i++) {
      if (signal?.aborted) throw new ScaleSetError('Canceled', 'growTo was canceled');
      await this.startNode(pool, priority);
    }
  }

  async deleteNodes(poolId: string, nodeIds: string[], _signal?: AbortSignal): Promise<void> {
    const pool = this.pool(poolId);
    await Promise.all(nodeIds.map((id) => this.deleteNode(pool, id)));
  }

  async listNodes(poolId: string): Promise<ProvisionedNode[]> {
    const pool = this.pool(poolId);
    return [...pool.nodes.values()].map((n) => ({ nodeId: n.nodeId, priority: n.priority, state: n.state, createdAt: n.createdAt }));
  }

  async deletePool(poolId: string): Promise<void> {
    const pool = this.pools.get(poolId);
    if (!pool) return;
    await Promise.all([...pool.nodes.keys()].map((id) => this.deleteNode(pool, id)));
    this.pools.delete(poolId);
  }

  /** Spot eviction: the node dies at once (SIGKILL) and is listed as evicted. */
  async evict(poolId: string, nodeId: string): Promise<void> {
    await this.killNode(this.pool(poolId), nodeId, 'evict');
  }

  /** A node crash: SIGKILL, listed as failed. */
  async crash(poolId: string, nodeId: string): Promise<void> {
    await this.killNode(this.pool(poolId), nodeId, 'crash');
  }

  /** Evicts one live low-priority node picked with `random` (0 <= r < 1); returns its id, if any. */
  async evictRandom(poolId: string, random: () => number): Promise<string | undefined> {
    const candidates = [...this.pool(poolId).nodes.values()].filter(
      (n) => n.priority === 'lowPriority' && (n.state === 'running' || n.state === 'creating'),
    );
    if (candidates.length === 0) return undefined;
    const victim = candidates[Math.min(candidates.length - 1, Math.floor(random() * candidates.length))]!;
    await this.evict(poolId, victim.nodeId);
    return victim.nodeId;
  }

  /** Ends every agent process (SIGTERM, then SIGKILL after the grace period) and forgets all pools. */
  async stopAll(): Promise<void> {
    await Promise.all([...this.pools.keys()].map((id) => this.deletePool(id)));
  }

  private pool(poolId: string): LocalPool {
    const pool = this.pools.get(poolId);
    if (!pool) throw new ScaleSetError('NotFound', `pool ${poolId} has no local scale set; call ensurePool first`);
    return pool;
  }

  private async startNode(pool: LocalPool, priority: NodePriority): Promise<void> {
    const { spec } = pool;
    const n = pool.next[priority]++;
    const nodeId = `${spec.poolId}-${priority === 'dedicated' ? 'd' : 'lp'}${n}`;
    const nodeDir = path.join(this.options.workRoot, safeDirName(spec.poolId), nodeId);
    await mkdir(nodeDir, { recursive: true });
    const env: NodeJS.ProcessEnv = {
      ...nodeBaseEnvironment(process.env),
      ...this.options.spawnEnv,
      // The host's process dies with the local host; its nodes should not outlive it.
      FNBATCH_EXIT_WITH_PARENT: '1',
      [AGENT_ENV.endpoint]: this.options.endpoint,
      [AGENT_ENV.key]: this.options.agentKey,
      [AGENT_ENV.poolId]: spec.poolId,
      [AGENT_ENV.nodeId]: nodeId,
      [AGENT_ENV.isDedicated]: String(priority === 'dedicated'),
      [AGENT_ENV.taskSlots]: String(spec.taskSlotsPerNode),
      [AGENT_ENV.storage]: this.options.storageConnectionString,
      [AGENT_ENV.workDir]: path.join(nodeDir, 'work'),
    };
    if (spec.startTask) env.FNBATCH_START_TASK = JSON.stringify(spec.startTask);

    // Each node's agent leads a session of its own, as a VM's agent runs as a service of its own.
    // Linux's autogroup scheduling shares the cores among sessions before threads, so a node's
    // task path (agent, spawn helper) is not queued behind the host's many threads: on a busy 2-core
    // machine, tasks overran their commands by 8 ms instead of 10 (mean) and the benchmark's DAG
    // ended 3 % sooner. A terminal's Ctrl-C then reaches the host alone, which stops its nodes
    // (stopAll); a host that dies is noticed by its agents (FNBATCH_EXIT_WITH_PARENT).
    const child = spawn(process.execPath, [this.fnbatchBin, 'agent'], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const logFile = createWriteStream(path.join(nodeDir, 'agent.log'), { flags: 'a' });
    logFile.on('error', () => undefined);
    const node: LocalNode = {
      nodeId,
      priority,
      state: 'creating',
      createdAt: Date.now(),
      child,
      exited: new Promise((resolve) => child.once('close', () => resolve())),
    };
    let seen = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      logFile.write(chunk);
      if (node.state === 'creating') {
        seen = (seen + chunk.toString()).slice(-4096);
        if (seen.includes(READY_LINE)) node.state = 'running';
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => logFile.write(chunk));
    child.once('error', (error) => this.log(`node ${nodeId} could not start: ${error.message}`));
    child.once('close', (code, signal) => {
      logFile.end();
      this.nodeEnded(pool, node, code, signal);
    });
    pool.nodes.set(nodeId, node);
    this.log(`started node ${nodeId} (pid ${child.pid})`);
  }

  private nodeEnded(pool: LocalPool, node: LocalNode, code: number | null, signal: NodeJS.Signals | null): void {
    if (node.endedBy === 'delete' || (node.endedBy === undefined && code === 0)) {
      pool.nodes.delete(node.nodeId);
      this.log(`node ${node.nodeId} is gone`);
      return;
    }
    node.state = node.endedBy === 'evict' ? 'evicted' : 'failed';
    this.log(`node ${node.nodeId} ${node.state} (exit ${code ?? signal})`);
  }

  private async deleteNode(pool: LocalPool, nodeId: string): Promise<void> {
    const node = pool.nodes.get(nodeId);
    if (!node) return;
    node.endedBy = 'delete';
    if (!isAlive(node.child)) {
      pool.nodes.delete(nodeId);
      return;
    }
    node.state = 'deleting';
    node.child.kill('SIGTERM');
    const graceMs = this.options.deleteGraceMs ?? 30_000;
    const timer = setTimeout(() => node.child.kill('SIGKILL'), graceMs);
    await node.exited;
    clearTimeout(timer);
  }

  private async killNode(pool: LocalPool, nodeId: string, endedBy: 'evict' | 'crash'): Promise<void> {
    const node = pool.nodes.get(nodeId);
    if (!node) throw new ScaleSetError('NotFound', `node ${nodeId} is not in pool ${pool.spec.poolId}`);
    if (!isAlive(node.child)) return;
    node.endedBy = endedBy;
    node.child.kill('SIGKILL');
    await node.exited;
  }
}

// A node gets what a fresh VM login would have, not the host's settings (which hold the app's
// storage keys): tasks inherit the agent's environment.
const NODE_ENV_NAMES = new Set(['PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'LANG', 'TZ', 'TMPDIR', 'TEMP', 'TMP', 'TERM']);

function nodeBaseEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([name]) => NODE_ENV_NAMES.has(name) || name.startsWith('LC_')));
}

function isAlive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null && child.pid !== undefined;
}

function safeDirName(poolId: string): string {
  return poolId.replace(/[^A-Za-z0-9_.-]/g, '_');
}

