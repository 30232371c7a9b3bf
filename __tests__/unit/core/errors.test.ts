/**
 * The action's own errors: one root (ActionError) every error written for the reader extends,
 * each class named so a log line says which it is, and several bad inputs reported at once.
 */
import { describe, expect, it } from '@jest/globals';
import {
  AbortedError,
  ActionError,
  errorMessage,
  InputError,
  InputErrors,
  isOwnError,
} from '../../../src/core/errors.js';

describe('the error hierarchy', () => {
  it('makes every one of the action’s errors an ActionError and an Error', () => {
    const errors = [
      new ActionError('x'),
      new InputError('images', 'x'),
      new InputErrors([new InputError('images', 'x')]),
      new AbortedError('x'),
    ];
    for (const error of errors) {
      expect(error).toBeInstanceOf(Error);
      expect(error).toBeInstanceOf(ActionError);
      expect(isOwnError(error)).toBe(true);
    }
  });

  it('makes InputErrors an InputError, and AbortedError no InputError', () => {
    expect(new InputErrors([])).toBeInstanceOf(InputError);
    expect(new AbortedError('cancelled')).not.toBeInstanceOf(InputError);
    expect(new InputError('images', 'x')).not.toBeInstanceOf(AbortedError);
  });

  it('names each class, as the log line shows it', () => {
    expect(new ActionError('a').name).toBe('ActionError');
    expect(new InputError('images', 'b').name).toBe('InputError');
    expect(new InputErrors([]).name).toBe('InputErrors');
    expect(new AbortedError('c').name).toBe('AbortedError');
    expect(String(new AbortedError('The run was cancelled.'))).toBe(
      'AbortedError: The run was cancelled.',
    );
    expect(String(new InputError('volume-size', 'must be a whole number.'))).toBe(
      "InputError: Input 'volume-size': must be a whole number.",
    );
  });

  it('keeps the cause it is given', () => {
    const cause = new Error('socket hang up');
    expect(new ActionError('The build failed.', { cause }).cause).toBe(cause);
    expect(new AbortedError('cancelled', { cause }).cause).toBe(cause);
    expect(new ActionError('no cause').cause).toBeUndefined();
  });
});

describe('InputError', () => {
  it('names the input in front of its message, and keeps the name apart', () => {
    const error = new InputError('volume-size', 'must be between 1 and 16384.');
    expect(error.message).toBe("Input 'volume-size': must be between 1 and 16384.");
    expect(error.input).toBe('volume-size');
  });
});

describe('InputErrors', () => {
  it('lists every wrong input, one per line, under a count', () => {
    const errors = [
      new InputError('images', 'is empty.'),
      new InputError('volume-size', 'must be a whole number.'),
    ];
    const all = new InputErrors(errors);
    expect(all.message).toBe(
      "2 inputs are wrong:\n- Input 'images': is empty.\n- Input 'volume-size': must be a whole number.",
    );
    expect(all.errors).toEqual(errors);
    // Its own input is the first one's, for code that reads a single InputError.
    expect(all.input).toBe('images');
  });

  it('has a generic input name when it holds none', () => {
    const none = new InputErrors([]);
    expect(none.input).toBe('inputs');
    expect(none.message).toBe('0 inputs are wrong:\n');
  });
});

describe('isOwnError', () => {
  it('tells the action’s errors from SDK errors and other thrown values', () => {
    const sdk = Object.assign(new Error('Access denied'), { name: 'UnauthorizedOperation' });
    expect(isOwnError(sdk)).toBe(false);
    expect(isOwnError(new TypeError('x is undefined'))).toBe(false);
    expect(isOwnError('ActionError')).toBe(false);
    expect(isOwnError({ name: 'ActionError', message: 'looks like one' })).toBe(false);
    expect(isOwnError(undefined)).toBe(false);
  });
});

describe('errorMessage', () => {
  it('is the message of an Error, the text of anything else', () => {
    expect(errorMessage(new Error('socket hang up'))).toBe('socket hang up');
    expect(errorMessage(new InputError('images', 'is empty.'))).toBe("Input 'images': is empty.");
    expect(errorMessage('plain text')).toBe('plain text');
    expect(errorMessage(42)).toBe('42');
    expect(errorMessage(undefined)).toBe('undefined');
    expect(errorMessage(null)).toBe('null');
  });
});
