import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RegisteredFunction } from '../../local-host/contracts.js';
import { buildHttpRoutes, findHttpRoute } from '../../local-host/http/http-routes.js';
import {
  compareRoutePrecedence,
  matchRouteTemplate,
  parseRouteTemplate,
} from '../../local-host/http/route-template.js';

const match = (template: string, path: string) => matchRouteTemplate(parseRouteTemplate(template), path);

function httpFunction(name: string, trigger: Record<string, unknown> = {}): RegisteredFunction {
  const triggerBinding = { type: 'httpTrigger', direction: 'in' as const, ...trigger };
  return {
    name,
    metadata: { name, bindings: { req: triggerBinding, $return: { type: 'http', direction: 'out' } } },
    triggerName: 'req',
    trigger: triggerBinding,
    handler: () => undefined,
  };
}

describe('route template matching', () => {
  it('matches literal segments case-insensitively and rejects other paths', () => {
    expect(match('api/Jobs/list', '/API/jobs/LIST')).toEqual({});
    expect(match('api/jobs/list', '/api/jobs')).toBeUndefined();
    expect(match('api/jobs', '/api/jobs/list')).toBeUndefined();
    expect(match('api/jobs', '/api/jobs/')).toEqual({});
    expect(match('api/jobs', '/api//jobs')).toBeUndefined();
  });

  it('captures parameters and percent-decodes them', () => {
    expect(match('api/jobs/{jobId}/tasks/{taskId}', '/api/jobs/j%201/tasks/t%2F2')).toEqual({
      jobId: 'j 1',
      taskId: 't/2',
    });
    expect(match('api/{name}', '/api/caf%C3%A9')).toEqual({ name: 'café' });
    // Malformed escapes are passed through rather than failing the request.
    expect(match('api/{name}', '/api/100%')).toEqual({ name: '100%' });
  });

  it('handles optional parameters, defaults and catch-alls', () => {
    expect(match('api/items/{id?}', '/api/items')).toEqual({});
    expect(match('api/items/{id?}', '/api/items/7')).toEqual({ id: '7' });
    expect(match('api/items/{page=1}', '/api/items')).toEqual({ page: '1' });
    expect(match('api/items/{page:int=1}', '/api/items/3')).toEqual({ page: '3' });
    expect(match('api/files/{*path}', '/api/files/a/b%20c/d.txt')).toEqual({ path: 'a/b c/d.txt' });
    expect(match('api/files/{*path}', '/api/files')).toEqual({});
    expect(match('api/files/{**path}', '/api/files/x/y')).toEqual({ path: 'x/y' });
  });

  it('matches complex segments mixing literals and parameters', () => {
    expect(match('api/files/{name}.{ext}', '/api/files/report.final.pdf')).toEqual({
      name: 'report',
      ext: 'final.pdf',
    });
    expect(match('api/files/{name}.{ext?}', '/api/files/readme')).toEqual({ name: 'readme' });
    expect(match('api/v{version:int}/ping', '/api/v2/ping')).toEqual({ version: '2' });
    expect(match('api/v{version:int}/ping', '/api/vx/ping')).toBeUndefined();
  });

  it.each([
    ['{id:int}', '42', true],
    ['{id:int}', '-7', true],
    ['{id:int}', '2147483648', false],
    ['{id:int}', '4x', false],
    ['{id:long}', '9223372036854775807', true],
    ['{id:long}', '9223372036854775808', false],
    ['{id:alpha}', 'AbC', true],
    ['{id:alpha}', 'ab1', false],
    ['{id:bool}', 'TRUE', true],
    ['{id:bool}', 'yes', false],
    ['{id:guid}', '0f8fad5b-d9cb-469f-a165-70867728950e', true],
    ['{id:guid}', '0f8fad5bd9cb469fa16570867728950e', true],
    ['{id:guid}', '{0f8fad5b-d9cb-469f-a165-70867728950e}', true],
    ['{id:guid}', '0f8fad5b-d9cb-469f-a165-70867728950', false],
    ['{x:length(3)}', 'abc', true],
    ['{x:length(3)}', 'abcd', false],
    ['{x:length(2,4)}', 'abcd', true],
    ['{x:minlength(2)}', 'a', false],
    ['{x:maxlength(2)}', 'ab', true],
    ['{x:maxlength(2)}', 'abc', false],
    ['{x:min(10)}', '9', false],
    ['{x:max(10)}', '10', true],
    ['{x:range(1,3)}', '4', false],
    ['{x:int:min(1)}', '0', false],
    ['{x:int:min(1)}', '1', true],
    ['{x:regex(^[a-z]{{2}}-\\d+$)}', 'ab-12', true],
    ['{x:regex(^[a-z]{{2}}-\\d+$)}', 'abc-12', false],
    ['{x:double}', '1.5e3', true],
    ['{x:double}', 'abc', false],
  ])('constraint %s against %s -> %s', (parameter, value, expected) => {
    const result = match(`api/${parameter}`, `/api/${value}`);
    expect(result !== undefined).toBe(expected);
  });

  it('a constraint does not stop an absent optional parameter from matching', () => {
    expect(match('api/items/{id:int?}', '/api/items')).toEqual({});
    expect(match('api/items/{id:int?}', '/api/items/x')).toBeUndefined();
  });

  it('rejects invalid templates with a reason', () => {
    for (const bad of [
      'api/{id',
      'api/id}',
      'api/{}',
      'api/{id:nosuch}',
      'api/{id}/{ID}',
      'api/{*rest}/more',
      'api/{a?}/b',
      'api/{a}{b}',
      'api/{x:length(a)}',
      'api/{x:regex(()}',
      'api//x',
    ]) {
      expect(() => parseRouteTemplate(bad), bad).toThrow(/Invalid route template/);
    }
  });

  it('any single literal segment matches itself whatever the case', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9_.~-]{1,12}$/), (segment) => {
        expect(match(`api/${segment}`, `/api/${segment.toUpperCase()}`)).toEqual({});
        expect(match(`api/${segment}`, `/api/${segment}x`)).toBeUndefined();
      }),
    );
  });

  it('any parameter value survives percent-encoding unchanged', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 20, unit: 'grapheme' }), (value) => {
        expect(match('api/{value}', `/api/${encodeURIComponent(value)}`)).toEqual({ value });
      }),
    );
  });
});

describe('route precedence', () => {
  const order = (...templates: string[]) =>
    templates
      .map(parseRouteTemplate)
      .sort(compareRoutePrecedence)
      .map((t) => t.text);

  it('orders literal before constrained before plain parameter before catch-all', () => {
    expect(order('api/{*rest}', 'api/{id}', 'api/{id:int}', 'api/list')).toEqual([
      'api/list',
      'api/{id:int}',
      'api/{id}',
      'api/{*rest}',
    ]);
  });

  it('compares segment by segment, so an earlier literal wins over later ones', () => {
    expect(order('api/{a}/b/c', 'api/x/{b}/{c}')).toEqual(['api/x/{b}/{c}', 'api/{a}/b/c']);
    expect(order('api/{id?}', 'api')).toEqual(['api', 'api/{id?}']);
  });

  it('picks the most specific matching function, and falls through on method mismatch', () => {
    const routes = buildHttpRoutes(
      [
        httpFunction('catchAll', { route: '{*rest}', methods: ['GET'] }),
        httpFunction('byId', { route: 'jobs/{id}', methods: ['GET'] }),
        httpFunction('byNumber', { route: 'jobs/{id:int}', methods: ['GET'] }),
        httpFunction('list', { route: 'jobs/list', methods: ['GET'] }),
        httpFunction('create', { route: 'jobs/{id}', methods: ['PUT'] }),
      ],
      'api',
    );
    const pick = (method: string, path: string) => findHttpRoute(routes, method, path)?.route.fn.name;
    expect(pick('GET', '/api/jobs/list')).toBe('list');
    expect(pick('GET', '/api/jobs/12')).toBe('byNumber');
    expect(pick('GET', '/api/jobs/abc')).toBe('byId');
    expect(pick('GET', '/api/other/thing')).toBe('catchAll');
    expect(pick('PUT', '/api/jobs/12')).toBe('create');
    expect(pick('DELETE', '/api/jobs/12')).toBeUndefined();
    expect(pick('GET', '/elsewhere')).toBeUndefined();
    expect(findHttpRoute(routes, 'GET', '/api/jobs/12%2034')?.params).toEqual({ id: '12 34' });
  });

  it('uses the function name as the default route, GET and POST as default methods, and the route prefix', () => {
    const routes = buildHttpRoutes([httpFunction('Hello')], '');
    expect(findHttpRoute(routes, 'get', '/hello')?.route.fn.name).toBe('Hello');
    expect(findHttpRoute(routes, 'POST', '/hello')?.route.fn.name).toBe('Hello');
    expect(findHttpRoute(routes, 'PUT', '/hello')).toBeUndefined();
    expect(findHttpRoute(routes, 'GET', '/api/hello')).toBeUndefined();
  });

  it('ignores functions that are not HTTP-triggered', () => {
    const timer = { ...httpFunction('tick'), trigger: { type: 'timerTrigger', direction: 'in' as const } };
    expect(buildHttpRoutes([timer], 'api')).toEqual([]);
  });

  it('fails naming the function and the template when a route is invalid', () => {
    expect(() => buildHttpRoutes([httpFunction('broken', { route: 'jobs/{id:int' })], 'api')).toThrow(
      /Function 'broken'.*'jobs\/\{id:int'/,
    );
    expect(() => buildHttpRoutes([httpFunction('weird', { authLevel: 'sometimes' })], 'api')).toThrow(
      /Function 'weird'.*authLevel/,
    );
  });
});
