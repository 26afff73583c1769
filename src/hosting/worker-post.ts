/**
 * Posts a batch of messages to another thread, surviving messages that cannot cross.
 *
 * `postMessage` structured-clones the whole batch synchronously and throws on the first
 * value it cannot clone (a function, a symbol) or that is too deep for its recursion
 * (`RangeError: Maximum call stack size exceeded`). Thrown from a flush callback, that
 * error would kill the process (or the worker, whose restart resends the same batch: a
 * crash loop), taking every other message of the batch with it. Input is bounded at the
 * edge (checkPayload), so this is the second line: on failure the batch is split and
 * each message is posted alone, and only those that still fail are handed to `refused`.
 *
 * @example
 * ```ts
 * postBatch((m) => worker.postMessage({ now, messages: m }), messages, (m, err) => failPending(m, err));
 * ```
 */
export function postBatch<M>(
  post: (messages: M[]) => void,
  messages: M[],
  refused: (message: M, error: unknown) => void,
): void {
  try {
    post(messages);
    return;
  } catch (err) {
    if (messages.length === 1) {
      refused(messages[0]!, err);
      return;
    }
  }
  for (const message of messages) {
    try {
      post([message]);
    } catch (err) {
      refused(message, err);
    }
  }
}
