/** src/cache/registry/errors.ts: the messages of registry error bodies. */
import { describe, expect, it } from '@jest/globals';
import { registryMessage } from '../../../../src/cache/registry/errors.js';

describe('registryMessage', () => {
  it('parses registry error bodies', () => {
    const body = (text: string) => Buffer.from(text);
    expect(
      registryMessage(
        body(
          '{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}',
        ),
        'application/json',
      ),
    ).toBe('DENIED: requested access to the resource is denied');
    expect(
      registryMessage(
        body('{"errors":[{"code":"A","message":"one"},{"code":"B","message":"two"}]}'),
        null,
      ),
    ).toBe('A: one; B: two');
    expect(registryMessage(body('{"details":"incorrect username or password"}'), null)).toBe(
      'incorrect username or password',
    );
    expect(registryMessage(body('Not Authorized\n'), 'text/plain')).toBe('Not Authorized');
    expect(registryMessage(body('<html><body>502</body></html>'), 'text/html')).toBe('');
    expect(registryMessage(body(''), null)).toBe('');
    expect(registryMessage(body('x'.repeat(500)), 'text/plain')).toHaveLength(300);
  });
});
