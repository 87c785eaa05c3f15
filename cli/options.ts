// Argument checks shared by the client commands, on top of args.ts: unknown flags and wrong
// positional counts are usage errors (exit 2), and every client command takes the connection
// flags and --json.
import { parseArgs, stringOption, UsageError, type ParsedArgs } from './args.js';

export const CONNECTION_FLAGS = ['endpoint', 'key'] as const;

export interface CommandArgs extends ParsedArgs {
  json: boolean;
}

/**
 * Parses argv for one subcommand: `valueOptions` take a value, `booleanOptions` do not. Both lists
 * exclude the connection flags and --json, which are always accepted.
 */
export function parseCommandArgs(argv: string[], valueOptions: readonly string[], booleanOptions: readonly string[], usage: string): CommandArgs {
  const booleans = new Set([...booleanOptions, 'json']);
  let args: ParsedArgs;
  try {
    args = parseArgs(argv, booleans);
  } catch (err) {
    if (err instanceof UsageError) throw new UsageError(`${err.message}\n${usage}`);
    throw err;
  }
  const known = new Set<string>([...valueOptions, ...booleans, ...CONNECTION_FLAGS]);
  for (const [name, value] of args.options) {
    if (!known.has(name)) throw new UsageError(`unknown option --${name}\n${usage}`);
    if (booleans.has(name) && value !== true) throw new UsageError(`--${name} takes no value\n${usage}`);
  }
  return { ...args, json: args.options.get('json') === true };
}

export function positionals(args: ParsedArgs, names: readonly string[], usage: string): string[] {
  if (args.positionals.length < names.length) throw new UsageError(`missing ${names[args.positionals.length]}\n${usage}`);
  if (args.positionals.length > names.length) throw new UsageError(`unexpected argument "${args.positionals[names.length]}"\n${usage}`);
  return args.positionals;
}

export function requiredOption(args: ParsedArgs, name: string, usage: string): string {
  const value = stringOption(args, name);
  if (value === undefined || value === '') throw new UsageError(`--${name} is required\n${usage}`);
  return value;
}

export function oneOf<T extends string>(args: ParsedArgs, name: string, allowed: readonly T[]): T | undefined {
  const value = stringOption(args, name);
  if (value === undefined) return undefined;
  const match = allowed.find((a) => a === value.toLowerCase());
  if (!match) throw new UsageError(`--${name} must be one of ${allowed.join(', ')}`);
  return match;
}
