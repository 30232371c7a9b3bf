/** Raw action inputs for the input parsers' tests: a build's required ones, and refusals. */
import { InputError } from '../src/core/errors.js';
import type { InputReader } from '../src/action/inputs/index.js';

/** The inputs a build needs; tests add or blank others. */
export const BASE: Readonly<Record<string, string>> = {
  images: 'busybox',
  'aws-region': 'us-west-2',
  'instance-profile': 'snapshot-builder-instance',
};

/** A reader over BASE with `inputs` on top ('' for anything unset). */
export function readerOf(inputs: Record<string, string>, base = BASE): InputReader {
  const all: Record<string, string> = { ...base, ...inputs };
  return (name) => all[name] ?? '';
}

/** The InputError a parse fails with (the test fails if it does not). */
export function refusalOf(parse: () => unknown): InputError {
  try {
    parse();
  } catch (error) {
    if (error instanceof InputError) return error;
    throw error;
  }
  throw new Error('expected an InputError');
}
