// Typed reads from untrusted JSON that fail with a BatchError naming the exact property path
// (e.g. "tasks[3].dependsOn.taskIds[0]"). JSON null is treated as absent, because many
// serializers write null for unset optional properties.

import { invalidPropertyValue, missingRequiredProperty } from './errors.js';

export type JsonObject = Record<string, unknown>;

export function propertyPath(parent: string, key: string): string {
  return parent ? `${parent}.${key}` : key;
}

export function indexPath(parent: string, index: number): string {
  return `${parent}[${index}]`;
}

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isAbsent(value: unknown): boolean {
  return value === undefined || value === null;
}

/** A value that must be a JSON object (the path names it for the error). */
export function asObject(value: unknown, path: string): JsonObject {
  if (!isJsonObject(value)) throw invalidPropertyValue(path, value, 'must be a JSON object');
  return value;
}

export function requiredObject(obj: JsonObject, key: string, parent: string): JsonObject {
  const path = propertyPath(parent, key);
  const value = obj[key];
  if (isAbsent(value)) throw missingRequiredProperty(path);
  return asObject(value, path);
}

export function optionalObject(obj: JsonObject, key: string, parent: string): JsonObject | undefined {
  const value = obj[key];
  if (isAbsent(value)) return undefined;
  return asObject(value, propertyPath(parent, key));
}

export function optionalArray(obj: JsonObject, key: string, parent: string): unknown[] {
  const value = obj[key];
  if (isAbsent(value)) return [];
  if (!Array.isArray(value)) throw invalidPropertyValue(propertyPath(parent, key), value, 'must be a JSON array');
  // Array.from turns holes of sparse arrays (possible when callers build bodies in code) into undefined.
  return Array.from(value);
}

export function requiredString(obj: JsonObject, key: string, parent: string, options: { nonEmpty?: boolean; maxLength?: number } = {}): string {
  const path = propertyPath(parent, key);
  const value = obj[key];
  if (isAbsent(value)) throw missingRequiredProperty(path);
  return checkString(value, path, options);
}

export function optionalString(obj: JsonObject, key: string, parent: string, options: { nonEmpty?: boolean; maxLength?: number } = {}): string | undefined {
  const value = obj[key];
  if (isAbsent(value)) return undefined;
  return checkString(value, propertyPath(parent, key), options);
}

export function checkString(value: unknown, path: string, options: { nonEmpty?: boolean; maxLength?: number } = {}): string {
  if (typeof value !== 'string') throw invalidPropertyValue(path, value, 'must be a string');
  if (options.nonEmpty && value.trim().length === 0) throw invalidPropertyValue(path, value, 'must not be empty');
  if (options.maxLength !== undefined && value.length > options.maxLength) {
    throw invalidPropertyValue(path, value, `must be at most ${options.maxLength} characters`);
  }
  return value;
}

export interface IntegerBounds {
  min?: number;
  max?: number;
}

export function checkInteger(value: unknown, path: string, bounds: IntegerBounds = {}): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) throw invalidPropertyValue(path, value, 'must be an integer');
  const min = bounds.min ?? -2147483648;
  const max = bounds.max ?? 2147483647;
  if (value < min || value > max) throw invalidPropertyValue(path, value, `must be between ${min} and ${max}`);
  return value;
}

export function requiredInteger(obj: JsonObject, key: string, parent: string, bounds: IntegerBounds = {}): number {
  const path = propertyPath(parent, key);
  const value = obj[key];
  if (isAbsent(value)) throw missingRequiredProperty(path);
  return checkInteger(value, path, bounds);
}

export function optionalInteger(obj: JsonObject, key: string, parent: string, fallback: number, bounds: IntegerBounds = {}): number {
  const value = obj[key];
  if (isAbsent(value)) return fallback;
  return checkInteger(value, propertyPath(parent, key), bounds);
}

export function optionalBoolean(obj: JsonObject, key: string, parent: string, fallback: boolean): boolean {
  const value = obj[key];
  if (isAbsent(value)) return fallback;
  if (typeof value !== 'boolean') throw invalidPropertyValue(propertyPath(parent, key), value, 'must be true or false');
  return value;
}

/**
 * An enum value, matched case-insensitively (Batch's SDKs send "noAction" where the REST
 * reference says "noaction") and returned in the canonical lower-case spelling.
 */
export function optionalEnum<T extends string>(obj: JsonObject, key: string, parent: string, allowed: readonly T[]): T | undefined {
  const value = obj[key];
  if (isAbsent(value)) return undefined;
  const path = propertyPath(parent, key);
  if (typeof value !== 'string') throw invalidPropertyValue(path, value, `must be one of: ${allowed.join(', ')}`);
  const found = allowed.find((candidate) => candidate === value.toLowerCase());
  if (found === undefined) throw invalidPropertyValue(path, value, `must be one of: ${allowed.join(', ')}`);
  return found;
}
