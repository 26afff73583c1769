/**
 * Thrown when a WARP message is well-formed text but not a valid envelope (unknown tag,
 * missing or mistyped header, malformed map body), or when its Recon/JSON text is
 * malformed (the underlying error is then available as `cause`).
 *
 * @example
 * ```ts
 * try { parseEnvelope('@event(lane:b)'); } catch (e) {
 *   if (e instanceof WarpProtocolError) e.message; // 'event envelope is missing the node header'
 * }
 * ```
 */
export class WarpProtocolError extends Error {
  override readonly name = 'WarpProtocolError';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
