/**
 * Reading raw action inputs: trimmed strings, required and optional values, booleans, whole
 * numbers in a range, one of a fixed set, and validated lists. Every refusal is an InputError
 * that names the input and the offending value.
 */
import { InputError } from '../../core/errors.js';
import { splitList } from '../../config/image-ref.js';

/** Reads one raw input by name; '' when unset (as `core.getInput` does). */
export type InputReader = (name: string) => string;

const TRUE_VALUES = new Set(['true', 'yes', 'on', '1']);
const FALSE_VALUES = new Set(['false', 'no', 'off', '0']);

/** An AWS region name such as us-west-2 (GovCloud and ISO partitions included). */
export const REGION = /^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d+$/;

export function read(get: InputReader, name: string): string {
  return get(name).trim();
}

export function optional(get: InputReader, name: string): string | undefined {
  const value = read(get, name);
  return value === '' ? undefined : value;
}

export function required(get: InputReader, name: string): string {
  const value = read(get, name);
  if (value === '') throw new InputError(name, 'is required.');
  return value;
}

export function parseBoolean(name: string, raw: string): boolean {
  const value = raw.trim().toLowerCase();
  if (TRUE_VALUES.has(value)) return true;
  if (FALSE_VALUES.has(value)) return false;
  throw new InputError(name, `expected true or false, got '${raw}'.`);
}

export function optionalBoolean(get: InputReader, name: string): boolean | undefined {
  const value = optional(get, name);
  return value === undefined ? undefined : parseBoolean(name, value);
}

export function parseInteger(name: string, raw: string, min: number, max: number): number {
  const value = raw.trim();
  if (!/^\d+$/.test(value)) throw new InputError(name, `expected a whole number, got '${raw}'.`);
  const n = Number(value);
  if (n < min || n > max) {
    throw new InputError(name, `must be between ${min} and ${max}, got ${n}.`);
  }
  return n;
}

export function optionalInteger(
  get: InputReader,
  name: string,
  min: number,
  max: number,
): number | undefined {
  const value = optional(get, name);
  return value === undefined ? undefined : parseInteger(name, value, min, max);
}

export function oneOf<T extends string>(
  get: InputReader,
  name: string,
  allowed: readonly T[],
  fallback: T,
): T {
  const value = optional(get, name)?.toLowerCase() ?? fallback;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new InputError(name, `must be one of ${allowed.join(', ')}, got '${value}'.`);
  }
  return value as T;
}

export function listOf(get: InputReader, name: string, pattern: RegExp, what: string): string[] {
  const items = splitList(get(name));
  for (const item of items) {
    if (!pattern.test(item)) throw new InputError(name, `'${item}' is not ${what}.`);
  }
  return [...new Set(items)];
}
