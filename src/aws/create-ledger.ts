/**
 * Create requests whose outcome the action does not know. A request EC2 answered
 * in one attempt is known (its ID is recorded, or it was refused). Every other one
 * "may have happened": the answer was lost, the request stalled and was aborted,
 * the SDK retried after a lost answer (the first attempt may have created
 * something too), or the process was killed before the answer arrived. Such
 * requests are not chased one by one: the sweep by invocation tag (build/cleanup.ts)
 * finds whatever they made, and looks again for a short while when the ledger
 * says something may have been made that it did not see yet.
 */

/**
 * State key: 'none' until a create request is sent, 'in-flight' while one is out, 'answered'
 * once all were answered in one attempt, 'uncertain' once one was not.
 */
export const STATE_CREATES = 'create-requests';

/** What the state says when no create request ever left the process: nothing can exist. */
export const NO_CREATES = 'none';

export interface CreateLedger {
  /**
   * Sends one create request through `send`. Marked in flight (in the step's state, for a
   * post step after a kill) until its answer arrives; uncertain unless that answer came from
   * EC2 in one attempt.
   */
  track<T>(send: () => Promise<T>): Promise<T>;
  /** Some create request may have made something the action has no ID for. */
  readonly uncertain: boolean;
  /** Some create request was sent: something of this run may exist. */
  readonly sent: boolean;
  /** A sweep that looked long enough found everything such requests made: nothing is uncertain now. */
  settle(): void;
}

interface AnsweredMetadata {
  $metadata?: { attempts?: number; httpStatusCode?: number };
}

function metadataOf(value: unknown): AnsweredMetadata['$metadata'] {
  if (value && typeof value === 'object' && '$metadata' in value) {
    return (value as AnsweredMetadata).$metadata;
  }
  return undefined;
}

/** Whether an error is EC2's own refusal of a single attempt (nothing was created). */
function definiteRefusal(error: unknown): boolean {
  const meta = metadataOf(error);
  const status = meta?.httpStatusCode;
  return status !== undefined && status >= 400 && status < 500 && (meta?.attempts ?? 1) <= 1;
}

export function createLedger(save: (key: string, value: string) => void): CreateLedger {
  let inFlight = 0;
  let uncertain = false;
  let sent = false;
  const record = () =>
    save(
      STATE_CREATES,
      uncertain ? 'uncertain' : inFlight > 0 ? 'in-flight' : sent ? 'answered' : NO_CREATES,
    );
  record();
  return {
    get uncertain() {
      return uncertain;
    },
    get sent() {
      return sent;
    },
    settle() {
      uncertain = false;
      record();
    },
    async track<T>(send: () => Promise<T>): Promise<T> {
      inFlight += 1;
      sent = true;
      record();
      try {
        const out = await send();
        if ((metadataOf(out)?.attempts ?? 1) > 1) uncertain = true;
        return out;
      } catch (error) {
        if (!definiteRefusal(error)) uncertain = true;
        throw error;
      } finally {
        inFlight -= 1;
        record();
      }
    },
  };
}

/** A ledger that keeps nothing in state (tests, callers without a post step). */
export function memoryLedger(): CreateLedger {
  return createLedger(() => undefined);
}
