/**
 * Structural equality for JSON-like lane values (primitives, arrays, plain objects).
 * Used to suppress no-op updates, e.g. a child re-announcing an unchanged value after a
 * restore, where the restored object is a different instance with the same content.
 */
export function jsonEquals(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEquals(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  // for-in over own keys rather than Object.keys: no arrays allocated on a hot comparison.
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  let count = 0;
  for (const k in ao) {
    if (!hasOwn.call(ao, k)) continue;
    if (!hasOwn.call(bo, k) || !jsonEquals(ao[k], bo[k])) return false;
    count++;
  }
  for (const k in bo) if (hasOwn.call(bo, k)) count--;
  return count === 0;
}

// eslint-disable-next-line @typescript-eslint/unbound-method -- only ever called with .call(object, key)
const hasOwn = Object.prototype.hasOwnProperty;
