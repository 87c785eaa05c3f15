// The HTTP-triggered functions of an app, as a route table: each function's route template
// (under the host's route prefix), allowed methods and authorization level, and the lookup that
// picks the most specific route for a request as the Functions host's router does.

import type { RegisteredFunction } from '../contracts.js';
import {
  compareRoutePrecedence,
  matchRouteTemplate,
  parseRouteTemplate,
  type RouteTemplate,
  type RouteValues,
} from './route-template.js';

export type HttpAuthLevel = 'anonymous' | 'function' | 'admin';

export interface HttpRoute {
  fn: RegisteredFunction;
  template: RouteTemplate;
  /** Upper-case method names. */
  methods: ReadonlySet<string>;
  authLevel: HttpAuthLevel;
}

export interface RouteMatch {
  route: HttpRoute;
  params: RouteValues;
}

export function isHttpTriggered(fn: RegisteredFunction): boolean {
  return fn.trigger.type?.toLowerCase() === 'httptrigger';
}

/** Throws an Error naming the function and its template when a route is invalid. */
export function buildHttpRoutes(functions: RegisteredFunction[], routePrefix: string): HttpRoute[] {
  const routes = functions.filter(isHttpTriggered).map((fn) => toHttpRoute(fn, routePrefix));
  // Stable order among equally specific templates keeps lookups deterministic.
  return routes.sort(
    (a, b) => compareRoutePrecedence(a.template, b.template) || a.template.text.localeCompare(b.template.text),
  );
}

/**
 * The most specific route whose template matches the path and which accepts the method. A route
 * that matches the path but not the method is skipped (the host answers 404, not 405).
 */
export function findHttpRoute(routes: HttpRoute[], method: string, path: string): RouteMatch | undefined {
  const upper = method.toUpperCase();
  for (const route of routes) {
    if (!route.methods.has(upper)) continue;
    const params = matchRouteTemplate(route.template, path);
    if (params) return { route, params };
  }
  return undefined;
}

function toHttpRoute(fn: RegisteredFunction, routePrefix: string): HttpRoute {
  const route = typeof fn.trigger.route === 'string' && fn.trigger.route.trim() !== '' ? fn.trigger.route : fn.name;
  const fullTemplate = joinRoute(routePrefix, route);
  let template: RouteTemplate;
  try {
    template = parseRouteTemplate(fullTemplate);
  } catch (error) {
    throw new Error(
      `Function '${fn.name}' has an invalid HTTP route template '${route}': ${(error as Error).message}`,
    );
  }
  return { fn, template, methods: parseMethods(fn), authLevel: parseAuthLevel(fn) };
}

function joinRoute(prefix: string, route: string): string {
  const cleanPrefix = prefix.replace(/^\/+|\/+$/g, '');
  const cleanRoute = route.replace(/^\/+/, '');
  return cleanPrefix === '' ? cleanRoute : `${cleanPrefix}/${cleanRoute}`;
}

function parseMethods(fn: RegisteredFunction): Set<string> {
  const declared = fn.trigger.methods;
  const list = Array.isArray(declared) && declared.length > 0 ? declared : ['GET', 'POST'];
  return new Set(list.map((m) => String(m).toUpperCase()));
}

function parseAuthLevel(fn: RegisteredFunction): HttpAuthLevel {
  const declared = fn.trigger.authLevel;
  // function.json's default is "function"; the @azure/functions library always fills it in.
  if (declared === undefined || declared === null || declared === '') return 'function';
  const level = String(declared).toLowerCase();
  if (level === 'anonymous' || level === 'function' || level === 'admin') return level;
  throw new Error(`Function '${fn.name}' has an unknown HTTP authLevel '${String(declared)}'`);
}
