// Function keys as the Functions host keeps them locally: a default function key and a master
// (admin) key, generated once and kept in <dataDir>/keys.json (readable only by the owner), or
// generated per run for an in-memory host. System keys (e.g. "durabletask_extension") are derived
// from the master key, so they are stable across restarts without being stored.

import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, link, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type KeyAuthLevel = 'anonymous' | 'function' | 'admin' | 'system';

export interface HostKeys {
  functionKey: string;
  masterKey: string;
  /** The system key for an extension, e.g. "durabletask_extension". */
  systemKey(name: string): string;
  /** True when `presented` grants `level`; the master key satisfies every level. */
  authorize(level: KeyAuthLevel, presented: string | undefined, systemName?: string): boolean;
}

export interface LoadKeysOptions {
  dataDir?: string;
  env?: NodeJS.ProcessEnv;
}

interface StoredKeys {
  functionKey: string;
  masterKey: string;
}

export const KEYS_FILE_NAME = 'keys.json';

/** Whether FNBATCH_KEY chooses the function key (as loadKeys reads it). */
export function functionKeyFromEnv(env: NodeJS.ProcessEnv | undefined): boolean {
  return env?.FNBATCH_KEY !== undefined && env.FNBATCH_KEY !== '';
}

/**
 * Where a user finds an in-memory host's keys, which are never printed: a file readable only by
 * its owner, in a folder of its own under the system's temporary folder, removed with `remove`.
 */
export async function writeRunKeysFile(keys: Pick<HostKeys, 'functionKey' | 'masterKey'>): Promise<{ path: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'fnbatch-keys-'));
  const file = join(dir, KEYS_FILE_NAME);
  await writeFile(file, JSON.stringify({ functionKey: keys.functionKey, masterKey: keys.masterKey }, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
  return { path: file, remove: () => rm(dir, { recursive: true, force: true }) };
}

export async function loadKeys(opts: LoadKeysOptions): Promise<HostKeys> {
  const stored = opts.dataDir ? await loadOrCreateStoredKeys(opts.dataDir) : generateKeys();
  const functionKey = functionKeyFromEnv(opts.env) ? opts.env!.FNBATCH_KEY! : stored.functionKey;
  return createHostKeys(functionKey, stored.masterKey);
}

export function createHostKeys(functionKey: string, masterKey: string): HostKeys {
  // The expected keys' digests are computed once: a request then costs one hash (of the key it
  // presents), not one per candidate key and another per expected key.
  const masterDigest = digest(masterKey);
  const functionDigest = digest(functionKey);
  const systemKeys = new Map<string, { key: string; digest: Buffer }>();
  const systemEntry = (name: string) => {
    let entry = systemKeys.get(name);
    if (entry === undefined) {
      const key = createHmac('sha256', masterKey).update(`fnbatch-system-key:${name}`).digest('base64url');
      entry = { key, digest: digest(key) };
      systemKeys.set(name, entry);
    }
    return entry;
  };

  const authorize = (level: KeyAuthLevel, presented: string | undefined, systemName?: string): boolean => {
    if (level === 'anonymous') return true;
    if (presented === undefined || presented === '') return false;
    // Evaluate every candidate so the time taken does not reveal which key came close.
    const presentedDigest = digest(presented);
    const isMaster = timingSafeEqual(presentedDigest, masterDigest);
    const isFunction = timingSafeEqual(presentedDigest, functionDigest);
    const isSystem = systemName !== undefined && timingSafeEqual(presentedDigest, systemEntry(systemName).digest);
    switch (level) {
      case 'function':
        return isMaster || isFunction;
      case 'admin':
        return isMaster;
      case 'system':
        return isMaster || isSystem;
      default:
        return false;
    }
  };

  return { functionKey, masterKey, systemKey: (name) => systemEntry(name).key, authorize };
}

/** Compares digests, so neither the content nor the length of the secret leaks through timing. */
export function constantTimeEquals(presented: string, expected: string): boolean {
  return timingSafeEqual(digest(presented), digest(expected));
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

function generateKeys(): StoredKeys {
  return { functionKey: newKey(), masterKey: newKey() };
}

function newKey(): string {
  // URL-safe, so the key can be passed as ?code= without escaping.
  return randomBytes(32).toString('base64url');
}

async function loadOrCreateStoredKeys(dataDir: string): Promise<StoredKeys> {
  const file = join(dataDir, KEYS_FILE_NAME);
  const existing = await readStoredKeys(file);
  if (existing) return existing;

  await mkdir(dataDir, { recursive: true });
  const keys = generateKeys();
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temp, JSON.stringify(keys, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
  try {
    // Two hosts starting together on one dataDir must agree on one set of keys: the first to
    // claim the name wins and the other adopts its keys.
    await linkExclusive(temp, file);
  } finally {
    await rm(temp, { force: true });
  }
  const winner = await readStoredKeys(file);
  if (!winner) throw new Error(`Could not read the host keys back from ${file}`);
  return winner;
}

async function linkExclusive(from: string, to: string): Promise<void> {
  try {
    await link(from, to);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return;
    if (code === 'EPERM' || code === 'ENOTSUP') {
      // File systems without hard links: fall back to a plain rename (last writer wins).
      await rename(from, to);
      return;
    }
    throw error;
  }
}

async function readStoredKeys(file: string): Promise<StoredKeys | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`The host keys file ${file} is not valid JSON; delete it to generate new keys`);
  }
  const keys = parsed as Partial<StoredKeys> | null;
  if (!keys || !isUsableKey(keys.functionKey) || !isUsableKey(keys.masterKey)) {
    throw new Error(`The host keys file ${file} lacks functionKey/masterKey; delete it to generate new keys`);
  }
  // Tighten permissions left loose by hand edits; the keys grant admin access.
  await chmod(file, 0o600).catch(() => undefined);
  return { functionKey: keys.functionKey, masterKey: keys.masterKey };
}

function isUsableKey(value: unknown): value is string {
  return typeof value === 'string' && value.length >= 16;
}

export const FUNCTION_KEY_HEADER = 'x-functions-key';

/** The key a request presents, as the host reads it: the x-functions-key header, else ?code=. */
export function presentedKey(header: string | undefined, url: URL): string | undefined {
  return header || (url.searchParams.get('code') ?? undefined);
}
