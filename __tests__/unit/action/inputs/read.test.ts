// src/action/inputs/read.ts: raw inputs as the other input modules read them: trimmed strings,
// required and optional values, booleans, whole numbers in a range, one of a set, and lists; every
// refusal an InputError naming the input and the value, in the words the user sees.
import { describe, expect, it } from '@jest/globals';
import {
  listOf,
  oneOf,
  optional,
  optionalBoolean,
  optionalInteger,
  parseBoolean,
  parseInteger,
  read,
  REGION,
  required,
  type InputReader,
} from '../../../../src/action/inputs/read.js';
import { InputError } from '../../../../src/core/errors.js';

/** Inputs as the runner hands them over: an unset one reads as ''. */
const inputs =
  (values: Record<string, string>): InputReader =>
  (name) =>
    values[name] ?? '';

/** The error `fn` throws, checked to be an InputError for `input`. */
function refusal(fn: () => unknown, input: string): InputError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).input).toBe(input);
    return error as InputError;
  }
  throw new Error('expected an InputError');
}

describe('read, optional and required', () => {
  it('trim what the runner hands over', () => {
    const get = inputs({ region: '  us-west-2\n' });
    expect(read(get, 'region')).toBe('us-west-2');
    expect(optional(get, 'region')).toBe('us-west-2');
    expect(required(get, 'region')).toBe('us-west-2');
  });

  it.each([[''], ['   '], ['\n\t']])('take %j as unset', (raw) => {
    const get = inputs({ profile: raw });
    expect(read(get, 'profile')).toBe('');
    expect(optional(get, 'profile')).toBeUndefined();
    expect(refusal(() => required(get, 'profile'), 'profile').message).toBe(
      "Input 'profile': is required.",
    );
  });

  it('an input never set is unset too', () => {
    expect(optional(inputs({}), 'snapshot-id')).toBeUndefined();
    expect(() => required(inputs({}), 'images')).toThrow("Input 'images': is required.");
  });
});

describe('parseBoolean and optionalBoolean', () => {
  it.each(['true', 'TRUE', 'Yes', 'on', '1', ' true '])('%j is true', (raw) => {
    expect(parseBoolean('flag', raw)).toBe(true);
  });

  it.each(['false', 'False', 'NO', 'off', '0', '\tfalse\n'])('%j is false', (raw) => {
    expect(parseBoolean('flag', raw)).toBe(false);
  });

  it.each(['maybe', 'y', 'n', '2', 'truee', ''])('refuses %j, quoting it', (raw) => {
    expect(refusal(() => parseBoolean('fast-restore', raw), 'fast-restore').message).toBe(
      `Input 'fast-restore': expected true or false, got '${raw}'.`,
    );
  });

  it('optionalBoolean: unset is undefined, set is parsed, bad is refused', () => {
    expect(optionalBoolean(inputs({}), 'encrypted')).toBeUndefined();
    expect(optionalBoolean(inputs({ encrypted: '  ' }), 'encrypted')).toBeUndefined();
    expect(optionalBoolean(inputs({ encrypted: 'Off' }), 'encrypted')).toBe(false);
    expect(optionalBoolean(inputs({ encrypted: ' yes ' }), 'encrypted')).toBe(true);
    expect(() => optionalBoolean(inputs({ encrypted: 'sure' }), 'encrypted')).toThrow(
      "Input 'encrypted': expected true or false, got 'sure'.",
    );
  });
});

describe('parseInteger and optionalInteger', () => {
  it('reads a whole number, trimmed, leading zeros and all', () => {
    expect(parseInteger('volume-size', ' 50 ', 1, 16384)).toBe(50);
    expect(parseInteger('volume-size', '007', 1, 16384)).toBe(7);
  });

  it('takes both ends of the range', () => {
    expect(parseInteger('pull-concurrency', '1', 1, 64)).toBe(1);
    expect(parseInteger('pull-concurrency', '64', 1, 64)).toBe(64);
    expect(parseInteger('keep-snapshots', '0', 0, 100)).toBe(0);
  });

  it.each(['50GiB', '-1', '+5', '1.5', '1e3', '0x10', '', ' ', '5 0'])(
    'refuses %j as no whole number, quoting it',
    (raw) => {
      expect(refusal(() => parseInteger('volume-size', raw, 1, 16384), 'volume-size').message).toBe(
        `Input 'volume-size': expected a whole number, got '${raw}'.`,
      );
    },
  );

  it.each([
    ['0', 1, 64, 'must be between 1 and 64, got 0.'],
    ['65', 1, 64, 'must be between 1 and 64, got 65.'],
    ['0900', 1, 64, 'must be between 1 and 64, got 900.'],
  ])('refuses %j outside %i..%i', (raw, min, max, message) => {
    expect(
      refusal(() => parseInteger('pull-concurrency', raw, min, max), 'pull-concurrency'),
    ).toHaveProperty('message', `Input 'pull-concurrency': ${message}`);
  });

  it('optionalInteger: unset is undefined, set is parsed and checked', () => {
    expect(optionalInteger(inputs({}), 'timeout-minutes', 5, 360)).toBeUndefined();
    expect(optionalInteger(inputs({ 'timeout-minutes': ' ' }), 'timeout-minutes', 5, 360)).toBe(
      undefined,
    );
    expect(optionalInteger(inputs({ 'timeout-minutes': ' 90 ' }), 'timeout-minutes', 5, 360)).toBe(
      90,
    );
    expect(() =>
      optionalInteger(inputs({ 'timeout-minutes': '1' }), 'timeout-minutes', 5, 360),
    ).toThrow("Input 'timeout-minutes': must be between 5 and 360, got 1.");
  });
});

describe('oneOf', () => {
  const MODES = ['none', 'pull-request', 'commit'] as const;

  it('is the fallback when unset', () => {
    expect(oneOf(inputs({}), 'mode', MODES, 'none')).toBe('none');
    expect(oneOf(inputs({ mode: '  ' }), 'mode', MODES, 'commit')).toBe('commit');
  });

  it('takes any case, and gives the value in lower case', () => {
    expect(oneOf(inputs({ mode: ' Pull-Request ' }), 'mode', MODES, 'none')).toBe('pull-request');
  });

  it('refuses anything else, listing what is allowed', () => {
    expect(
      refusal(() => oneOf(inputs({ mode: 'Push' }), 'mode', MODES, 'none'), 'mode').message,
    ).toBe("Input 'mode': must be one of none, pull-request, commit, got 'push'.");
  });
});

describe('listOf', () => {
  const ACCOUNT = /^\d{12}$/;

  it('splits on commas and lines, drops blanks and comments, keeps the first of repeats', () => {
    const get = inputs({
      accounts: '111111111111, 222222222222\n# staging\n\n333333333333 # prod\n111111111111',
    });
    expect(listOf(get, 'accounts', ACCOUNT, 'an account ID')).toEqual([
      '111111111111',
      '222222222222',
      '333333333333',
    ]);
  });

  it('is empty when unset', () => {
    expect(listOf(inputs({}), 'accounts', ACCOUNT, 'an account ID')).toEqual([]);
  });

  it('names the first item that does not match', () => {
    const get = inputs({ accounts: '111111111111,12345,abc' });
    expect(
      refusal(() => listOf(get, 'accounts', ACCOUNT, 'an account ID'), 'accounts').message,
    ).toBe("Input 'accounts': '12345' is not an account ID.");
  });
});

describe('REGION', () => {
  it.each([
    'us-west-2',
    'eu-central-1',
    'ap-southeast-4',
    'cn-north-1',
    'us-gov-west-1',
    'us-iso-east-1',
    'us-isob-east-1',
  ])('matches %s', (region) => {
    expect(REGION.test(region)).toBe(true);
  });

  it.each(['US-WEST-2', 'us-west', 'uswest2', 'us-west-2a', ' us-west-2', 'us-west-2,eu-west-1'])(
    'does not match %j',
    (region) => {
      expect(REGION.test(region)).toBe(false);
    },
  );
});
