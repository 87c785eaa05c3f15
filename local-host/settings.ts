// App settings as the Functions host sees them: explicit overrides, then the process environment,
// then the Values of local.settings.json (the way `func start` layers them).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { AppSettings } from './contracts.js';

export const LOCAL_SETTINGS_FILE = 'local.settings.json';

function readLocalSettingsValues(appDir: string): Record<string, string> {
  const file = path.join(appDir, LOCAL_SETTINGS_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw err;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(stripBom(text));
  } catch (err) {
    throw new Error(`${file}: not valid JSON (${(err as Error).message})`);
  }
  const values = (parsed as { Values?: unknown } | null)?.Values;
  if (values === undefined) return {};
  if (typeof values !== 'object' || values === null || Array.isArray(values)) {
    throw new Error(`${file}: "Values" must be an object of name/value strings`);
  }
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(values)) {
    // The host accepts non-string JSON scalars and reads them as text.
    if (value !== null && typeof value === 'object') {
      throw new Error(`${file}: Values.${name} must be a string, number or boolean`);
    }
    if (value !== null) result[name] = String(value);
  }
  return result;
}

function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

const SETTING_REFERENCE = /%([^%]+)%/g;

export function loadAppSettings(appDir: string, overrides: Record<string, string> = {}): AppSettings {
  const fileValues = readLocalSettingsValues(appDir);
  const get = (name: string): string | undefined => overrides[name] ?? process.env[name] ?? fileValues[name];
  return {
    get,
    resolve(expression: string): string {
      return expression.replace(SETTING_REFERENCE, (_whole, name: string) => {
        const value = get(name);
        if (value === undefined) {
          throw new Error(
            `App setting '${name}' (referenced as %${name}% in '${expression}') is not set: ` +
              `define it in the environment or in ${LOCAL_SETTINGS_FILE} Values`,
          );
        }
        return value;
      });
    },
  };
}
