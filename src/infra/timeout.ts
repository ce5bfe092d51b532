/**
 * Settles like `promise`, or like `onTimeout()` when `promise` has not settled within `ms` (a later
 * settlement of `promise` is then ignored, its rejection included). A plain timer, cleared when
 * `promise` settles: no AbortController, whose abort builds an AbortError with a stack trace on every
 * call (measurable on the create path, which bounds two Redis calls per request this way).
 */
export function orAfter<T>(promise: Promise<T>, ms: number, onTimeout: () => T | Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      Promise.resolve().then(onTimeout).then(resolve, reject);
    }, ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error); // eslint-disable-line @typescript-eslint/prefer-promise-reject-errors -- passed on as it came
      },
    );
  });
}
