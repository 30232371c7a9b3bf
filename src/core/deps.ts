/**
 * What every part that talks to AWS, a registry or GitHub is given besides its clients: the
 * clock its waits run on, the logger, and the signal that ends it (cancellation or the run's
 * timeout). `signal` is required: a part that cannot be stopped is a part that outlives
 * timeout-minutes. Each part's own deps extend this with the clients it calls.
 */
import type { Clock } from './clock.js';
import type { Logger } from './logger.js';

export interface Deps {
  clock: Clock;
  logger: Logger;
  signal: AbortSignal;
}
