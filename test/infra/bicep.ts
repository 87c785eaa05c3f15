// A small reader for the Bicep declarations the infra tests check: parameters (type, default,
// decorators), variables, resources (type@apiVersion, existing, loops, conditions, body), modules
// and outputs. Bodies and literal values are parsed into plain JS values; anything that is an
// expression rather than a literal is kept as an Expr holding its source text. It reads the subset
// of Bicep the fnbatch templates use, not every corner of the language.

export class Expr {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

export type BicepValue = string | number | boolean | null | Expr | BicepValue[] | { [key: string]: BicepValue };

export interface Decorator {
  name: string;
  args: string;
}

export interface BicepParam {
  name: string;
  type: string;
  secure: boolean;
  /** Source text of the default value, when there is one. */
  defaultText?: string;
  /** The default as a value (an Expr when it is not a literal). */
  defaultValue?: BicepValue;
  allowed?: BicepValue[];
  minValue?: number;
  maxValue?: number;
  minLength?: number;
  maxLength?: number;
  description?: string;
  decorators: Decorator[];
}

export interface BicepVariable {
  name: string;
  text: string;
  value: BicepValue;
}

export interface BicepResource {
  symbol: string;
  type: string;
  apiVersion: string;
  existing: boolean;
  /** `for` clause of a resource loop, e.g. "pool in poolNames". */
  loop?: string;
  /** Condition of a conditional resource, without the parentheses. */
  condition?: string;
  body: { [key: string]: BicepValue };
  bodyText: string;
}

export interface BicepModule {
  symbol: string;
  path: string;
  loop?: string;
  condition?: string;
  body: { [key: string]: BicepValue };
}

export interface BicepOutput {
  name: string;
  type: string;
  secure: boolean;
  text: string;
  description?: string;
}

export interface BicepFile {
  targetScope: string;
  params: BicepParam[];
  variables: BicepVariable[];
  resources: BicepResource[];
  modules: BicepModule[];
  outputs: BicepOutput[];
}

export class BicepSyntaxError extends Error {
  override readonly name = 'BicepSyntaxError';
}

/** Replaces comments (and `#disable-next-line` directives) with spaces, keeping strings and newlines. */
export function stripComments(source: string): string {
  let out = '';
  let i = 0;
  while (i < source.length) {
    const c = source[i]!;
    if (source.startsWith("'''", i)) {
      const end = source.indexOf("'''", i + 3);
      if (end < 0) throw new BicepSyntaxError('unterminated multi-line string');
      out += source.slice(i, end + 3);
      i = end + 3;
    } else if (c === "'") {
      const end = skipString(source, i);
      out += source.slice(i, end);
      i = end;
    } else if (source.startsWith('//', i) || (c === '#' && /^#disable-next-line\b/.test(source.slice(i, i + 20)))) {
      while (i < source.length && source[i] !== '\n') {
        out += ' ';
        i++;
      }
    } else if (source.startsWith('/*', i)) {
      const end = source.indexOf('*/', i + 2);
      if (end < 0) throw new BicepSyntaxError('unterminated block comment');
      out += source.slice(i, end + 2).replace(/[^\n]/g, ' ');
      i = end + 2;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** Index just past the single-quoted string starting at `start` (interpolations may nest strings). */
function skipString(text: string, start: number): number {
  if (text.startsWith("'''", start)) {
    const end = text.indexOf("'''", start + 3);
    if (end < 0) throw new BicepSyntaxError('unterminated multi-line string');
    return end + 3;
  }
  let i = start + 1;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '\\') i += 2;
    else if (c === "'") return i + 1;
    else if (c === '$' && text[i + 1] === '{') {
      i += 2;
      let depth = 1;
      while (i < text.length && depth > 0) {
        const d = text[i]!;
        if (d === "'") {
          i = skipString(text, i);
          continue;
        }
        if (d === '{') depth++;
        else if (d === '}') depth--;
        i++;
      }
    } else if (c === '\n') throw new BicepSyntaxError(`line break in a string at ${start}`);
    else i++;
  }
  throw new BicepSyntaxError(`unterminated string at ${start}`);
}

/**
 * From `start`, the end of one logical line: the first newline outside brackets and strings, unless
 * the next non-blank line continues a ternary (starts with `?` or `:`) or a member access (`.`).
 */
function logicalLineEnd(text: string, start: number): number {
  let depth = 0;
  let i = start;
  while (i < text.length) {
    const c = text[i]!;
    if (c === "'") {
      i = skipString(text, i);
      continue;
    }
    if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') depth--;
    else if (c === '\n' && depth <= 0) {
      const rest = text.slice(i + 1);
      const next = /^\s*(\S)/.exec(rest);
      if (next && (next[1] === '?' || next[1] === ':' || next[1] === '.')) {
        i++;
        continue;
      }
      return i;
    }
    i++;
  }
  return i;
}

/** Splits a stripped source into its top-level logical lines (blank ones dropped). */
function logicalLines(text: string): string[] {
  const lines: string[] = [];
  let i = 0;
  while (i < text.length) {
    const end = logicalLineEnd(text, i);
    const line = text.slice(i, end).trim();
    if (line) lines.push(line);
    i = end + 1;
  }
  return lines;
}

export function parseBicep(source: string): BicepFile {
  const file: BicepFile = { targetScope: 'resourceGroup', params: [], variables: [], resources: [], modules: [], outputs: [] };
  let decorators: Decorator[] = [];
  const take = (): Decorator[] => {
    const taken = decorators;
    decorators = [];
    return taken;
  };
  for (const line of logicalLines(stripComments(source))) {
    let m: RegExpExecArray | null;
    if ((m = /^@([A-Za-z_.]+)\s*\(([\s\S]*)\)$/.exec(line))) {
      decorators.push({ name: m[1]!.replace(/^sys\./, ''), args: m[2]!.trim() });
    } else if ((m = /^targetScope\s*=\s*'([^']*)'$/.exec(line))) {
      file.targetScope = m[1]!;
    } else if ((m = /^param\s+([A-Za-z_]\w*)\s+([A-Za-z_]\w*)\s*(?:=\s*([\s\S]+))?$/.exec(line))) {
      file.params.push(makeParam(m[1]!, m[2]!, m[3]?.trim(), take()));
    } else if ((m = /^var\s+([A-Za-z_]\w*)\s*=\s*([\s\S]+)$/.exec(line))) {
      take();
      file.variables.push({ name: m[1]!, text: m[2]!.trim(), value: parseValue(m[2]!.trim()) });
    } else if ((m = /^resource\s+([A-Za-z_]\w*)\s+'([^'@]+)@([^']+)'\s*(existing\s*)?=\s*([\s\S]+)$/.exec(line))) {
      take();
      const { loop, condition, body, bodyText } = parseDeclarationBody(m[5]!.trim());
      file.resources.push({ symbol: m[1]!, type: m[2]!, apiVersion: m[3]!, existing: Boolean(m[4]), loop, condition, body, bodyText });
    } else if ((m = /^module\s+([A-Za-z_]\w*)\s+'([^']+)'\s*=\s*([\s\S]+)$/.exec(line))) {
      take();
      const { loop, condition, body } = parseDeclarationBody(m[3]!.trim());
      file.modules.push({ symbol: m[1]!, path: m[2]!, loop, condition, body });
    } else if ((m = /^output\s+([A-Za-z_]\w*)\s+([A-Za-z_]\w*)\s*=\s*([\s\S]+)$/.exec(line))) {
      const decs = take();
      const description = decs.find((d) => d.name === 'description');
      file.outputs.push({
        name: m[1]!,
        type: m[2]!,
        secure: decs.some((d) => d.name === 'secure'),
        text: m[3]!.trim(),
        description: description ? asString(parseValue(description.args)) : undefined,
      });
    } else if (/^(metadata|import|type|func|using|extension)\b/.test(line)) {
      take();
    } else {
      throw new BicepSyntaxError(`cannot read the declaration: ${line.slice(0, 80)}`);
    }
  }
  if (decorators.length) throw new BicepSyntaxError(`decorators with no declaration: @${decorators[0]!.name}`);
  return file;
}

function asString(value: BicepValue): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function makeParam(name: string, type: string, defaultText: string | undefined, decorators: Decorator[]): BicepParam {
  const param: BicepParam = { name, type, secure: false, decorators };
  if (defaultText !== undefined) {
    param.defaultText = defaultText;
    param.defaultValue = parseValue(defaultText);
  }
  for (const d of decorators) {
    switch (d.name) {
      case 'secure':
        param.secure = true;
        break;
      case 'allowed': {
        const allowed = parseValue(d.args);
        if (!Array.isArray(allowed)) throw new BicepSyntaxError(`@allowed of ${name} is not an array`);
        param.allowed = allowed;
        break;
      }
      case 'minValue':
      case 'maxValue':
      case 'minLength':
      case 'maxLength': {
        const n = parseValue(d.args);
        if (typeof n !== 'number') throw new BicepSyntaxError(`@${d.name} of ${name} is not a number`);
        param[d.name] = n;
        break;
      }
      case 'description':
        param.description = asString(parseValue(d.args));
        break;
      default:
        break;
    }
  }
  return param;
}

function parseDeclarationBody(text: string): Pick<BicepResource, 'loop' | 'condition' | 'body' | 'bodyText'> {
  let rest = text;
  let loop: string | undefined;
  let condition: string | undefined;
  const forMatch = /^\[\s*for\s+([\s\S]+?)\s*:\s*([\s\S]*)\]$/.exec(rest);
  if (forMatch) {
    loop = forMatch[1]!.trim();
    rest = forMatch[2]!.trim();
  }
  if (rest.startsWith('if')) {
    const open = rest.indexOf('(');
    const close = matchingBracket(rest, open);
    condition = rest.slice(open + 1, close).trim();
    rest = rest.slice(close + 1).trim();
  }
  const body = parseValue(rest);
  if (body === null || typeof body !== 'object' || Array.isArray(body) || body instanceof Expr) {
    throw new BicepSyntaxError(`a declaration body is not an object: ${rest.slice(0, 60)}`);
  }
  return { loop, condition, body, bodyText: rest };
}

function matchingBracket(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const c = text[i]!;
    if (c === "'") {
      i = skipString(text, i) - 1;
      continue;
    }
    if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') {
      depth--;
      if (depth === 0) return i;
    }
  }
  throw new BicepSyntaxError(`unbalanced brackets in ${text.slice(open, open + 60)}`);
}

/** A Bicep string literal's value, or undefined when it has interpolations. */
function stringLiteral(text: string): string | undefined {
  if (text.startsWith("'''")) return text.endsWith("'''") ? text.slice(3, -3).replace(/^\r?\n/, '') : undefined;
  if (!text.startsWith("'") || skipString(text, 0) !== text.length) return undefined;
  const inner = text.slice(1, -1);
  let out = '';
  for (let i = 0; i < inner.length; i++) {
    const c = inner[i]!;
    if (c === '$' && inner[i + 1] === '{') return undefined;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const e = inner[++i]!;
    const escapes: Record<string, string> = { n: '\n', r: '\r', t: '\t', '\\': '\\', "'": "'", $: '$' };
    if (!(e in escapes)) throw new BicepSyntaxError(`unknown escape \\${e}`);
    out += escapes[e];
  }
  return out;
}

/** Splits the inside of an array or object into items separated by newlines or commas at depth 0. */
function splitItems(inner: string): string[] {
  const items: string[] = [];
  let i = 0;
  let start = 0;
  let depth = 0;
  const push = (end: number) => {
    const item = inner.slice(start, end).trim();
    if (item) items.push(item);
  };
  while (i < inner.length) {
    const c = inner[i]!;
    if (c === "'") {
      i = skipString(inner, i);
      continue;
    }
    if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') depth--;
    else if (depth === 0 && (c === ',' || c === '\n')) {
      if (c === '\n') {
        const next = /^\s*(\S)/.exec(inner.slice(i + 1));
        if (next && (next[1] === '?' || next[1] === ':' || next[1] === '.')) {
          i++;
          continue;
        }
      }
      push(i);
      start = i + 1;
    }
    i++;
  }
  push(inner.length);
  return items;
}

/** Parses a literal (string, number, bool, null, array, object); anything else becomes an Expr. */
export function parseValue(text: string): BicepValue {
  const t = text.trim();
  const s = stringLiteral(t);
  if (s !== undefined) return s;
  if (/^-?\d+$/.test(t)) return Number(t);
  if (t === 'true') return true;
  if (t === 'false') return false;
  if (t === 'null') return null;
  if ((t.startsWith('[') || t.startsWith('{')) && matchingBracket(t, 0) === t.length - 1) {
    const inner = t.slice(1, -1);
    if (t.startsWith('[')) {
      if (/^\s*for\s/.test(inner)) return new Expr(t);
      return splitItems(inner).map(parseValue);
    }
    const obj: { [key: string]: BicepValue } = {};
    for (const item of splitItems(inner)) {
      const m = /^('(?:[^'\\]|\\.)*'|[A-Za-z_$][\w$]*)\s*:\s*([\s\S]*)$/.exec(item);
      if (!m) throw new BicepSyntaxError(`not a property: ${item.slice(0, 60)}`);
      const key = m[1]!.startsWith("'") ? stringLiteral(m[1]!) : m[1]!;
      // An interpolated key ('${id}') stays as its source text.
      obj[key ?? m[1]!] = parseValue(m[2]!);
    }
    return obj;
  }
  return new Expr(t);
}

/** Value at a dotted path inside a parsed body (undefined when any step is missing). */
export function valueAt(value: BicepValue | undefined, path: string): BicepValue | undefined {
  let current: BicepValue | undefined = value;
  for (const key of path.split('.')) {
    if (current === null || typeof current !== 'object' || current instanceof Expr) return undefined;
    current = Array.isArray(current) ? current[Number(key)] : current[key];
  }
  return current;
}
