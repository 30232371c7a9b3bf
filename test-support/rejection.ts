/**
 * The error a promise rejects with, for assertions on it. Fails the test when the promise
 * resolves, or (given `type`) rethrows an error of another kind so the test shows it.
 */
export async function rejectionOf<E extends Error = Error>(
  promise: Promise<unknown>,
  type?: abstract new (...args: never[]) => E,
): Promise<E> {
  try {
    await promise;
  } catch (error) {
    if (type && !(error instanceof type)) throw error;
    if (!(error instanceof Error)) {
      throw new Error(`rejected with a non-Error: ${String(error)}`, { cause: error });
    }
    return error as E;
  }
  throw new Error('expected a rejection');
}
