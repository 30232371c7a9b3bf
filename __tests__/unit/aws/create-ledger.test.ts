import { describe, expect, it } from '@jest/globals';
import { createLedger, STATE_CREATES } from '../../../src/aws/create-ledger.js';
import { rejectionOf } from '../../../test-support/rejection.js';

function ledger() {
  const saved: string[] = [];
  const l = createLedger((key, value) => {
    expect(key).toBe(STATE_CREATES);
    saved.push(value);
  });
  return { l, saved };
}

const answered = (attempts: number) => ({ $metadata: { httpStatusCode: 200, attempts } });
const refused = (status: number, attempts = 1) =>
  Object.assign(new Error('refused'), { $metadata: { httpStatusCode: status, attempts } });

describe('createLedger', () => {
  it('a request answered in one attempt is known: none sent, in flight while out, then answered', async () => {
    const { l, saved } = ledger();
    expect(l.sent).toBe(false);
    await l.track(async () => answered(1));
    expect(saved).toEqual(['none', 'in-flight', 'answered']);
    expect(l.uncertain).toBe(false);
    expect(l.sent).toBe(true);
  });

  it('an answer after retries may hide a first attempt that created something', async () => {
    const { l, saved } = ledger();
    await l.track(async () => answered(2));
    expect(l.uncertain).toBe(true);
    expect(saved.at(-1)).toBe('uncertain');
  });

  it('an abort, a lost connection or a server error may have happened; a refusal did not', async () => {
    for (const [error, uncertain] of [
      [Object.assign(new Error('Request aborted'), { name: 'AbortError' }), true],
      [Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), true],
      [refused(500), true],
      [refused(400, 3), true],
      [refused(400), false],
    ] as const) {
      const { l } = ledger();
      expect(await rejectionOf(l.track(() => Promise.reject(error)))).toBe(error);
      expect(l.uncertain).toBe(uncertain);
    }
  });

  it('settles once a sweep found what the unanswered requests made', async () => {
    const { l, saved } = ledger();
    await rejectionOf(l.track(() => Promise.reject(new Error('Request aborted'))));
    l.settle();
    expect(l.uncertain).toBe(false);
    expect(saved.at(-1)).toBe('answered');
  });
});
