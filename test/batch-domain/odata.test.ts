import { describe, expect, it } from 'vitest';
import { parseSelect, parseTaskFilter, TASK_SELECTABLE_PROPERTIES } from '../../shared/batch/index.js';
import { caught } from '../support/caught.js';

const tasks = [
  { id: 'a', state: 'completed', executionInfo: { result: 'success' } },
  { id: 'b', state: 'completed', executionInfo: { result: 'failure' } },
  { id: "it's", state: 'running', executionInfo: {} },
  { id: 'd', state: 'active' },
];

const ids = (filter: string) => tasks.filter(parseTaskFilter(filter)).map((t) => t.id);


describe('$filter', () => {
  it('filters on state and executionInfo/result, joined by and', () => {
    expect(ids("state eq 'completed'")).toEqual(['a', 'b']);
    expect(ids("executionInfo/result eq 'failure'")).toEqual(['b']);
    expect(ids("state eq 'completed' and executionInfo/result eq 'success'")).toEqual(['a']);
    expect(ids("state ne 'completed'")).toEqual(["it's", 'd']);
  });

  it('tolerates case and whitespace in keywords, and parentheses', () => {
    expect(ids("  STATE   Eq 'Completed'  AND (executionInfo/Result EQ 'success')")).toEqual(['a']);
    expect(ids("id eq 'IT''S'")).toEqual(["it's"]);
  });

  it.each([
    ['', /empty/],
    ["state eq 'deleted'", /not a valid state/],
    ["state eq 'completed' or state eq 'active'", /only 'and'/],
    ["state gt 'completed'", /'eq' or 'ne'/],
    ["state eq 'completed", /unterminated/],
    ["nodeInfo/nodeId eq 'x'", /cannot be filtered/],
    ["state eq completed", /quoted string/],
    ["(state eq 'active'", /expected '\)'/],
    ["state eq 'active' and", /property name/],
    ["state eq 'active' ; drop", /unexpected character/],
  ])('rejects %j', (filter, reason) => {
    const error = caught(() => parseTaskFilter(filter));
    expect(error.code).toBe('InvalidQueryParameterValue');
    expect(error.status).toBe(400);
    expect(error.valueFor('QueryParameterName')).toBe('$filter');
    expect(error.valueFor('Reason')).toMatch(reason);
  });
});

describe('$select', () => {
  it('projects top-level properties, matching names case-insensitively', () => {
    const projection = parseSelect(' id, STATE ,executionInfo', TASK_SELECTABLE_PROPERTIES);
    expect(projection.properties).toEqual(['id', 'state', 'executionInfo']);
    expect(projection.project(tasks[0]!)).toEqual(tasks[0]);
    expect(projection.project(tasks[3]!)).toEqual({ id: 'd', state: 'active' });
    expect(parseSelect('id', TASK_SELECTABLE_PROPERTIES).project(tasks[1]!)).toEqual({ id: 'b' });
  });

  it('rejects empty and unknown names', () => {
    expect(caught(() => parseSelect('id,,state', TASK_SELECTABLE_PROPERTIES)).code).toBe('InvalidQueryParameterValue');
    expect(caught(() => parseSelect('bogus', TASK_SELECTABLE_PROPERTIES)).valueFor('QueryParameterName')).toBe('$select');
    expect(caught(() => parseSelect('executionInfo/result', TASK_SELECTABLE_PROPERTIES)).code).toBe('InvalidQueryParameterValue');
  });
});
