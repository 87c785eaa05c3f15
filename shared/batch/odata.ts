// The OData subset Batch list operations accept:
//   $filter: comparisons `<property> eq|ne '<value>'` joined by `and`, optionally parenthesized,
//            e.g. "state eq 'completed' and executionInfo/result eq 'failure'". Keywords and
//            property names are case-insensitive; string literals are single-quoted with ''
//            standing for one quote. `or` and `not` are not supported (rejected, not ignored).
//   $select: comma-separated top-level property names, e.g. "id,state".
// Malformed input is rejected with InvalidQueryParameterValue (400), Batch's code for it.

import { invalidQueryParameterValue } from './errors.js';
import { JOB_STATES, TASK_RESULTS, TASK_STATES } from './model.js';

export interface FilterField<T> {
  /** Canonical property path as written in $filter, e.g. "executionInfo/result". */
  path: string;
  /** When given, literals must be one of these (matched case-insensitively). */
  allowedValues?: readonly string[];
  /** Read the property; undefined never equals a literal. */
  read: (item: T) => string | undefined;
}

export interface FilterableTask {
  id?: string;
  state?: string;
  executionInfo?: { result?: string };
}

export interface FilterableJob {
  id?: string;
  state?: string;
  poolInfo?: { poolId?: string };
}

export const TASK_FILTER_FIELDS: readonly FilterField<FilterableTask>[] = [
  { path: 'id', read: (task) => task.id },
  { path: 'state', allowedValues: TASK_STATES, read: (task) => task.state },
  { path: 'executionInfo/result', allowedValues: TASK_RESULTS, read: (task) => task.executionInfo?.result },
];

export const JOB_FILTER_FIELDS: readonly FilterField<FilterableJob>[] = [
  { path: 'id', read: (job) => job.id },
  { path: 'state', allowedValues: JOB_STATES, read: (job) => job.state },
  { path: 'poolInfo/poolId', read: (job) => job.poolInfo?.poolId },
];

export type Predicate<T> = (item: T) => boolean;

type Token =
  | { kind: 'open'; at: number }
  | { kind: 'close'; at: number }
  | { kind: 'word'; text: string; at: number }
  | { kind: 'string'; text: string; at: number };

const FILTER = '$filter';

function tokenize(raw: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < raw.length) {
    const ch = raw[i]!;
    if (/\s/.test(ch)) {
      i++;
    } else if (ch === '(') {
      tokens.push({ kind: 'open', at: i++ });
    } else if (ch === ')') {
      tokens.push({ kind: 'close', at: i++ });
    } else if (ch === "'") {
      const start = i++;
      let text = '';
      for (;;) {
        if (i >= raw.length) throw invalidQueryParameterValue(FILTER, raw, `unterminated string literal starting at position ${start}`);
        if (raw[i] === "'") {
          if (raw[i + 1] === "'") {
            text += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        text += raw[i++];
      }
      tokens.push({ kind: 'string', text, at: start });
    } else if (/[A-Za-z_]/.test(ch)) {
      const start = i;
      while (i < raw.length && /[A-Za-z0-9_/]/.test(raw[i]!)) i++;
      tokens.push({ kind: 'word', text: raw.slice(start, i), at: start });
    } else {
      throw invalidQueryParameterValue(FILTER, raw, `unexpected character '${ch}' at position ${i}`);
    }
  }
  return tokens;
}

/** Parses a $filter into a predicate over items described by `fields`. */
export function parseFilter<T>(raw: string, fields: readonly FilterField<T>[]): Predicate<T> {
  const tokens = tokenize(raw);
  if (tokens.length === 0) throw invalidQueryParameterValue(FILTER, raw, 'the filter is empty');
  let position = 0;
  const fail = (reason: string): never => {
    throw invalidQueryParameterValue(FILTER, raw, reason);
  };
  const describe = (token: Token | undefined): string =>
    token === undefined ? 'end of input' : token.kind === 'open' ? "'('" : token.kind === 'close' ? "')'" : `'${token.text}' at position ${token.at}`;
  const isKeyword = (token: Token | undefined, keyword: string): boolean =>
    token?.kind === 'word' && token.text.toLowerCase() === keyword;

  const parseAnd = (): Predicate<T> => {
    const terms = [parseTerm()];
    while (isKeyword(tokens[position], 'and')) {
      position++;
      terms.push(parseTerm());
    }
    return terms.length === 1 ? terms[0]! : (item) => terms.every((term) => term(item));
  };

  const parseTerm = (): Predicate<T> => {
    const token = tokens[position];
    if (token?.kind === 'open') {
      position++;
      const inner = parseAnd();
      if (tokens[position]?.kind !== 'close') fail(`expected ')' but found ${describe(tokens[position])}`);
      position++;
      return inner;
    }
    if (token?.kind !== 'word') return fail(`expected a property name but found ${describe(token)}`);
    const field = fields.find((candidate) => candidate.path.toLowerCase() === token.text.toLowerCase());
    if (!field) return fail(`'${token.text}' cannot be filtered on; supported: ${fields.map((f) => f.path).join(', ')}`);
    position++;
    const operator = tokens[position];
    const op = operator?.kind === 'word' ? operator.text.toLowerCase() : '';
    if (op !== 'eq' && op !== 'ne') return fail(`expected 'eq' or 'ne' after '${token.text}' but found ${describe(operator)}`);
    position++;
    const literal = tokens[position];
    if (literal?.kind !== 'string') return fail(`expected a quoted string after '${op}' but found ${describe(literal)}`);
    position++;
    let value = literal.text;
    if (field.allowedValues) {
      const canonical = field.allowedValues.find((allowed) => allowed === value.toLowerCase());
      if (canonical === undefined) return fail(`'${value}' is not a valid ${field.path}; expected one of: ${field.allowedValues.join(', ')}`);
      value = canonical;
    }
    // Enum values and Batch ids compare case-insensitively.
    const expected = value.toLowerCase();
    const equals = (item: T): boolean => field.read(item)?.toLowerCase() === expected;
    return op === 'eq' ? equals : (item) => !equals(item);
  };

  const predicate = parseAnd();
  if (position < tokens.length) fail(`unexpected ${describe(tokens[position])}; only 'and' may join comparisons`);
  return predicate;
}

export function parseTaskFilter(raw: string): Predicate<FilterableTask> {
  return parseFilter(raw, TASK_FILTER_FIELDS);
}

export function parseJobFilter(raw: string): Predicate<FilterableJob> {
  return parseFilter(raw, JOB_FILTER_FIELDS);
}

export const TASK_SELECTABLE_PROPERTIES = [
  'id', 'displayName', 'url', 'eTag', 'lastModified', 'creationTime', 'state', 'stateTransitionTime',
  'previousState', 'previousStateTransitionTime', 'commandLine', 'environmentSettings', 'dependsOn',
  'constraints', 'exitConditions', 'requiredSlots', 'executionInfo', 'nodeInfo',
] as const;

export const JOB_SELECTABLE_PROPERTIES = [
  'id', 'displayName', 'url', 'eTag', 'lastModified', 'creationTime', 'state', 'stateTransitionTime',
  'previousState', 'previousStateTransitionTime', 'priority', 'maxParallelTasks', 'constraints', 'poolInfo',
  'usesTaskDependencies', 'onAllTasksComplete', 'onTaskFailure', 'commonEnvironmentSettings', 'metadata',
  'executionInfo',
] as const;

export interface Projection {
  /** Canonical names of the selected properties, in the order given. */
  properties: readonly string[];
  project<T extends object>(item: T): Partial<T>;
}

/** Parses $select against the properties the resource has (names matched case-insensitively). */
export function parseSelect(raw: string, selectable: readonly string[]): Projection {
  const names = raw.split(',').map((name) => name.trim());
  const properties: string[] = [];
  names.forEach((name, index) => {
    if (name === '') throw invalidQueryParameterValue('$select', raw, `property name ${index + 1} is empty`);
    const canonical = selectable.find((candidate) => candidate.toLowerCase() === name.toLowerCase());
    if (canonical === undefined) throw invalidQueryParameterValue('$select', raw, `'${name}' is not a property that can be selected`);
    if (!properties.includes(canonical)) properties.push(canonical);
  });
  return {
    properties,
    project<T extends object>(item: T): Partial<T> {
      const out: Partial<T> = {};
      for (const property of properties) {
        if (Object.prototype.hasOwnProperty.call(item, property)) {
          (out as Record<string, unknown>)[property] = (item as Record<string, unknown>)[property];
        }
      }
      return out;
    },
  };
}
