// ASP.NET-style route templates, as the Azure Functions host uses them for HTTP triggers.
// A template is parsed once at start-up (so an invalid one fails the host early), then matched
// against request paths; when several templates match, `compareRoutePrecedence` decides which is
// the more specific, following ASP.NET Core's inbound route precedence.

export type RouteConstraint = (value: string) => boolean;

export interface LiteralPart {
  kind: 'literal';
  text: string;
}

export interface ParameterPart {
  kind: 'parameter';
  name: string;
  optional: boolean;
  catchAll: boolean;
  defaultValue?: string;
  /** Constraint texts as written, e.g. ["int", "min(1)"]. */
  constraintTexts: string[];
  constraints: RouteConstraint[];
}

export type RoutePart = LiteralPart | ParameterPart;

export interface RouteSegment {
  parts: RoutePart[];
}

export interface RouteTemplate {
  text: string;
  segments: RouteSegment[];
  /**
   * One digit per segment, as ASP.NET Core's inbound precedence: 1 literal, 2 complex segment,
   * 3 constrained parameter, 4 plain parameter, 5 catch-all. Lower is more specific.
   */
  precedence: number[];
}

export type RouteValues = Record<string, string>;

export class RouteTemplateError extends Error {
  constructor(template: string, reason: string) {
    super(`Invalid route template '${template}': ${reason}`);
    this.name = 'RouteTemplateError';
  }
}

export function parseRouteTemplate(text: string): RouteTemplate {
  const trimmed = text.replace(/^~?\/+/, '').replace(/\/+$/, '');
  const segments: RouteSegment[] = [];
  const seenNames = new Set<string>();
  const rawSegments = trimmed === '' ? [] : splitTemplateSegments(text, trimmed);

  rawSegments.forEach((raw, index) => {
    if (raw === '') throw new RouteTemplateError(text, 'empty segment (consecutive "/")');
    const parts = parseSegment(text, raw);
    for (const part of parts) {
      if (part.kind !== 'parameter') continue;
      const key = part.name.toLowerCase();
      if (seenNames.has(key)) throw new RouteTemplateError(text, `parameter '${part.name}' appears more than once`);
      seenNames.add(key);
      if (part.catchAll && index !== rawSegments.length - 1) {
        throw new RouteTemplateError(text, `catch-all parameter '${part.name}' must be the last segment`);
      }
      if ((part.catchAll || part.optional) && parts.length > 1 && part !== parts[parts.length - 1]) {
        throw new RouteTemplateError(text, `optional or catch-all parameter '${part.name}' must end its segment`);
      }
      if (part.catchAll && parts.length > 1) {
        throw new RouteTemplateError(text, `catch-all parameter '${part.name}' must be alone in its segment`);
      }
    }
    for (let i = 1; i < parts.length; i++) {
      if (parts[i]!.kind === 'parameter' && parts[i - 1]!.kind === 'parameter') {
        throw new RouteTemplateError(text, 'two parameters in one segment must be separated by a literal');
      }
    }
    segments.push({ parts });
  });

  // An optional (or defaulted) parameter may only be followed by other optional segments, as in
  // ASP.NET; otherwise "a/{b?}/c" would be ambiguous.
  let sawOptionalSegment = false;
  for (const segment of segments) {
    const optional = isOptionalSegment(segment);
    if (sawOptionalSegment && !optional) {
      throw new RouteTemplateError(text, 'an optional parameter may only be followed by optional parameters');
    }
    sawOptionalSegment ||= optional;
  }

  return { text, segments, precedence: segments.map(precedenceDigit) };
}

/** Returns the route values when the path matches the template, else undefined. */
export function matchRouteTemplate(template: RouteTemplate, path: string): RouteValues | undefined {
  const pathSegments = splitRequestPath(path);
  const values: RouteValues = {};
  const { segments } = template;

  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    const only = segment.parts.length === 1 ? segment.parts[0]! : undefined;

    if (only?.kind === 'parameter' && only.catchAll) {
      const rest = pathSegments.slice(i).map(decodeSegment).join('/');
      // A catch-all also matches nothing at all; it then has no value (or its default).
      const value = rest === '' ? only.defaultValue : rest;
      if (value === undefined) return values;
      if (!satisfies(only, value)) return undefined;
      values[only.name] = value;
      return values;
    }

    if (i >= pathSegments.length) {
      if (!isOptionalSegment(segment)) return undefined;
      for (const part of segment.parts) {
        if (part.kind === 'parameter' && part.defaultValue !== undefined) values[part.name] = part.defaultValue;
      }
      continue;
    }

    const decoded = decodeSegment(pathSegments[i]!);
    if (only?.kind === 'literal') {
      if (!equalsIgnoreCase(only.text, decoded)) return undefined;
    } else if (only?.kind === 'parameter') {
      if (decoded === '' || !satisfies(only, decoded)) return undefined;
      values[only.name] = decoded;
    } else if (!matchComplexSegment(segment, decoded, values)) {
      return undefined;
    }
  }

  return pathSegments.length <= segments.length ? values : undefined;
}

/** Negative when `a` is more specific than `b` (so sorting ascending puts the winner first). */
export function compareRoutePrecedence(a: RouteTemplate, b: RouteTemplate): number {
  const length = Math.max(a.precedence.length, b.precedence.length);
  for (let i = 0; i < length; i++) {
    // A missing segment counts as 0, so "a" beats "a/{b?}" for the path "/a", as in ASP.NET.
    const difference = (a.precedence[i] ?? 0) - (b.precedence[i] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}

function splitTemplateSegments(template: string, trimmed: string): string[] {
  // '/' inside a parameter (e.g. in a regex constraint) does not separate segments.
  const segments: string[] = [];
  let current = '';
  let depth = 0;
  for (let i = 0; i < trimmed.length; i++) {
    const c = trimmed[i]!;
    if (depth === 0 && c === '{' && trimmed[i + 1] === '{') {
      current += '{{';
      i++;
    } else if (c === '{' && depth === 0) {
      depth = 1;
      current += c;
    } else if (c === '}' && depth === 1) {
      if (trimmed[i + 1] === '}') {
        current += '}}';
        i++;
      } else {
        depth = 0;
        current += c;
      }
    } else if (c === '/' && depth === 0) {
      segments.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  if (depth !== 0) throw new RouteTemplateError(template, "unclosed '{'");
  segments.push(current);
  return segments;
}

function parseSegment(template: string, raw: string): RoutePart[] {
  const parts: RoutePart[] = [];
  let literal = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === '{' && raw[i + 1] === '{') {
      literal += '{';
      i++;
    } else if (c === '}' && raw[i + 1] === '}') {
      literal += '}';
      i++;
    } else if (c === '}') {
      throw new RouteTemplateError(template, "unmatched '}'");
    } else if (c === '{') {
      if (literal) parts.push(literalPart(template, literal));
      literal = '';
      let body = '';
      let j = i + 1;
      for (; j < raw.length; j++) {
        if (raw[j] === '}' && raw[j + 1] === '}') {
          body += '}';
          j++;
        } else if (raw[j] === '{' && raw[j + 1] === '{') {
          body += '{';
          j++;
        } else if (raw[j] === '}') {
          break;
        } else if (raw[j] === '{') {
          throw new RouteTemplateError(template, "unexpected '{' inside a parameter");
        } else {
          body += raw[j];
        }
      }
      if (j >= raw.length) throw new RouteTemplateError(template, "unclosed '{'");
      parts.push(parseParameter(template, body));
      i = j;
    } else {
      literal += c;
    }
  }
  if (literal) parts.push(literalPart(template, literal));
  return parts;
}

function literalPart(template: string, text: string): LiteralPart {
  if (text.includes('?')) throw new RouteTemplateError(template, "'?' is not allowed in a literal");
  return { kind: 'literal', text };
}

function parseParameter(template: string, body: string): ParameterPart {
  let rest = body.trim();
  let catchAll = false;
  if (rest.startsWith('**')) {
    catchAll = true;
    rest = rest.slice(2);
  } else if (rest.startsWith('*')) {
    catchAll = true;
    rest = rest.slice(1);
  }

  const nameMatch = /^[^:=?{}*/]+/.exec(rest);
  if (!nameMatch) throw new RouteTemplateError(template, `parameter '{${body}}' has no name`);
  const name = nameMatch[0];
  rest = rest.slice(name.length);

  const constraintTexts: string[] = [];
  while (rest.startsWith(':')) {
    const end = endOfConstraint(rest, 1);
    const constraint = rest.slice(1, end);
    if (constraint === '') throw new RouteTemplateError(template, `parameter '${name}' has an empty constraint`);
    constraintTexts.push(constraint);
    rest = rest.slice(end);
  }

  let optional = false;
  let defaultValue: string | undefined;
  if (rest.startsWith('=')) {
    defaultValue = rest.slice(1);
    rest = '';
  } else if (rest === '?') {
    optional = true;
    rest = '';
  }
  if (rest !== '') throw new RouteTemplateError(template, `cannot parse parameter '{${body}}'`);
  if (catchAll && optional) throw new RouteTemplateError(template, `catch-all parameter '${name}' cannot be optional`);
  if (optional && defaultValue !== undefined) {
    throw new RouteTemplateError(template, `parameter '${name}' cannot be both optional and have a default`);
  }

  const constraints = constraintTexts.map((c) => {
    try {
      return buildConstraint(c);
    } catch (error) {
      throw new RouteTemplateError(template, `parameter '${name}': ${(error as Error).message}`);
    }
  });
  return { kind: 'parameter', name, optional, catchAll, defaultValue, constraintTexts, constraints };
}

/** Index just past a constraint that starts at `start`; parentheses may contain ':' and '='. */
function endOfConstraint(text: string, start: number): number {
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    const c = text[i]!;
    if (c === '(') depth++;
    else if (c === ')') depth = Math.max(0, depth - 1);
    else if (depth === 0 && (c === ':' || c === '=' || (c === '?' && i === text.length - 1))) return i;
  }
  return text.length;
}

const INT32 = { min: -2147483648, max: 2147483647 };

function buildConstraint(text: string): RouteConstraint {
  const call = /^([A-Za-z]+)(?:\((.*)\))?$/s.exec(text);
  if (!call) throw new Error(`cannot parse constraint '${text}'`);
  const name = call[1]!.toLowerCase();
  const argument = call[2];
  const numbers = (count: number[]): number[] => {
    const args = (argument ?? '').split(',').map((s) => s.trim());
    if (argument === undefined || !count.includes(args.length) || args.some((a) => !/^-?\d+$/.test(a))) {
      throw new Error(`constraint '${text}' needs ${count.join(' or ')} integer argument(s)`);
    }
    return args.map(Number);
  };
  const noArgument = (): void => {
    if (argument !== undefined) throw new Error(`constraint '${name}' takes no argument`);
  };

  switch (name) {
    case 'int':
      noArgument();
      return (v) => isIntegerInRange(v, INT32.min, INT32.max);
    case 'long':
      noArgument();
      return (v) => /^[+-]?\d+$/.test(v.trim()) && fitsInt64(v.trim());
    case 'alpha':
      noArgument();
      return (v) => /^[a-z]+$/i.test(v);
    case 'bool':
      noArgument();
      return (v) => /^\s*(true|false)\s*$/i.test(v);
    case 'guid':
      noArgument();
      return isGuid;
    case 'decimal':
    case 'double':
    case 'float':
      noArgument();
      return (v) => /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/.test(v) && Number.isFinite(Number(v));
    case 'datetime':
      noArgument();
      return (v) => !Number.isNaN(Date.parse(v));
    case 'length': {
      const [min, max] = numbers([1, 2]);
      return (v) => [...v].length >= min! && [...v].length <= (max ?? min)!;
    }
    case 'minlength': {
      const [min] = numbers([1]);
      return (v) => [...v].length >= min!;
    }
    case 'maxlength': {
      const [max] = numbers([1]);
      return (v) => [...v].length <= max!;
    }
    case 'min': {
      const [min] = numbers([1]);
      return (v) => isIntegerInRange(v, min!, Number.MAX_SAFE_INTEGER);
    }
    case 'max': {
      const [max] = numbers([1]);
      return (v) => isIntegerInRange(v, Number.MIN_SAFE_INTEGER, max!);
    }
    case 'range': {
      const [min, max] = numbers([2]);
      return (v) => isIntegerInRange(v, min!, max!);
    }
    case 'regex': {
      if (argument === undefined || argument === '') throw new Error('regex constraint needs a pattern');
      let pattern: RegExp;
      try {
        // ASP.NET matches route regexes case-insensitively and unanchored (templates add ^...$).
        pattern = new RegExp(argument, 'i');
      } catch (error) {
        throw new Error(`regex '${argument}' is not valid: ${(error as Error).message}`);
      }
      return (v) => pattern.test(v);
    }
    default:
      throw new Error(`unknown constraint '${name}'`);
  }
}

function isIntegerInRange(value: string, min: number, max: number): boolean {
  if (!/^\s*[+-]?\d+\s*$/.test(value)) return false;
  const n = Number(value);
  return Number.isSafeInteger(n) && n >= min && n <= max;
}

function fitsInt64(value: string): boolean {
  const n = BigInt(value);
  return n >= -(2n ** 63n) && n < 2n ** 63n;
}

const GUID_FORMATS = [
  new RegExp(`^[0-9a-f]{32}$`, 'i'),
  new RegExp(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`, 'i'),
  new RegExp(`^\\{[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\\}$`, 'i'),
  new RegExp(`^\\([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\\)$`, 'i'),
];

/** The "N", "D", "B" and "P" formats .NET's Guid.TryParse accepts. */
function isGuid(value: string): boolean {
  const v = value.trim();
  return GUID_FORMATS.some((format) => format.test(v));
}

function satisfies(part: ParameterPart, value: string): boolean {
  return part.constraints.every((constraint) => constraint(value));
}

function isOptionalSegment(segment: RouteSegment): boolean {
  const only = segment.parts.length === 1 ? segment.parts[0] : undefined;
  return (
    only?.kind === 'parameter' && (only.optional || only.catchAll || only.defaultValue !== undefined)
  );
}

function precedenceDigit(segment: RouteSegment): number {
  if (segment.parts.length > 1) return 2;
  const part = segment.parts[0]!;
  if (part.kind === 'literal') return 1;
  if (part.catchAll) return 5;
  return part.constraints.length > 0 ? 3 : 4;
}

/**
 * A segment mixing literals and parameters, e.g. "{name}.{ext?}". Parameters take the shortest
 * text that lets the rest match; an optional last parameter may be absent along with the literal
 * before it ("file" matches "{name}.{ext?}" with no ext), as in ASP.NET.
 */
function matchComplexSegment(segment: RouteSegment, value: string, values: RouteValues): boolean {
  const attempt = (parts: RoutePart[]): RouteValues | undefined => {
    let source = '^';
    const names: ParameterPart[] = [];
    for (const part of parts) {
      if (part.kind === 'literal') {
        source += escapeRegExp(part.text);
      } else {
        source += '(.+?)';
        names.push(part);
      }
    }
    const match = new RegExp(source + '$', 'is').exec(value);
    if (!match) return undefined;
    const found: RouteValues = {};
    for (let i = 0; i < names.length; i++) {
      const part = names[i]!;
      const text = match[i + 1]!;
      if (!satisfies(part, text)) return undefined;
      found[part.name] = text;
    }
    return found;
  };

  let found = attempt(segment.parts);
  const last = segment.parts[segment.parts.length - 1]!;
  if (!found && last.kind === 'parameter' && (last.optional || last.defaultValue !== undefined)) {
    const withoutLast = segment.parts.slice(0, -1);
    if (withoutLast[withoutLast.length - 1]?.kind === 'literal') withoutLast.pop();
    found = withoutLast.length > 0 ? attempt(withoutLast) : undefined;
    if (found && last.defaultValue !== undefined) found[last.name] = last.defaultValue;
  }
  if (!found) return false;
  Object.assign(values, found);
  return true;
}

function splitRequestPath(path: string): string[] {
  const trimmed = path.replace(/^\/+/, '');
  if (trimmed === '') return [];
  const segments = trimmed.split('/');
  // A single trailing slash is ignored, as ASP.NET routing does.
  if (segments[segments.length - 1] === '') segments.pop();
  return segments;
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function equalsIgnoreCase(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
