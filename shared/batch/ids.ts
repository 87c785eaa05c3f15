// Batch id rules (jobs, tasks, pools): letters, digits, hyphens and underscores, 1..64 characters.
// Ids are case-preserving but case-insensitive: "Task1" and "task1" cannot coexist in one job, and
// a dependency on "TASK1" refers to "task1".

export const MAX_ID_LENGTH = 64;
const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

export function isValidBatchId(id: unknown): id is string {
  return typeof id === 'string' && ID_PATTERN.test(id);
}

/** Why `id` is not a valid Batch id, or undefined when it is. */
export function batchIdProblem(id: unknown): string | undefined {
  if (typeof id !== 'string') return 'must be a string';
  if (id.length === 0) return 'must not be empty';
  if (id.length > MAX_ID_LENGTH) return `must be at most ${MAX_ID_LENGTH} characters`;
  if (!ID_PATTERN.test(id)) return 'may contain only letters, digits, hyphens and underscores';
  return undefined;
}

/** The key under which an id is compared; ids are ASCII, so lower-casing is exact. */
export function idKey(id: string): string {
  return id.toLowerCase();
}

export function sameId(a: string, b: string): boolean {
  return idKey(a) === idKey(b);
}

export interface DuplicateId {
  /** Index of the later occurrence. */
  index: number;
  id: string;
  /** Index of the first occurrence it collides with. */
  firstIndex: number;
}

/** Every occurrence of an id already seen earlier in the list, compared case-insensitively. */
export function findCaseInsensitiveDuplicates(ids: readonly string[]): DuplicateId[] {
  const firstByKey = new Map<string, number>();
  const duplicates: DuplicateId[] = [];
  ids.forEach((id, index) => {
    const key = idKey(id);
    const firstIndex = firstByKey.get(key);
    if (firstIndex === undefined) firstByKey.set(key, index);
    else duplicates.push({ index, id, firstIndex });
  });
  return duplicates;
}

/** Something that knows which task ids already exist in a job (case-insensitively). */
export interface ExistingTaskIds {
  has(id: string): boolean;
}

export const NO_EXISTING_TASKS: ExistingTaskIds = { has: () => false };

/** A set of ids with Batch's case-insensitive equality. */
export class CaseInsensitiveIdSet implements ExistingTaskIds {
  private readonly keys = new Set<string>();

  constructor(ids: Iterable<string> = []) {
    for (const id of ids) this.add(id);
  }

  add(id: string): void {
    this.keys.add(idKey(id));
  }

  has(id: string): boolean {
    return this.keys.has(idKey(id));
  }

  get size(): number {
    return this.keys.size;
  }
}

/**
 * The integer a task id stands for in a dependency range, or undefined when the id is not all
 * digits. Batch ignores leading zeros here ("4", "04" and "004" are all task 4).
 */
export function integerTaskIdValue(id: string): number | undefined {
  if (!/^[0-9]+$/.test(id)) return undefined;
  const digits = id.replace(/^0+(?=.)/, '');
  // Range bounds are 32-bit integers, so longer digit strings can never fall inside a range.
  if (digits.length > 15) return undefined;
  return Number(digits);
}
