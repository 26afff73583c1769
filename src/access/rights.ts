/**
 * What a principal may do on a path. Four rights, as bits so a grant holds a set of them in
 * one number and a check is one AND:
 *
 * - `read`: HTTP reads, queries and history; WARP `@link`/`@sync`; MQTT subscriptions to the
 *   path's topics (a device's command topic included);
 * - `ingest`: events for the path over any front (HTTP, CloudEvents, MQTT publish);
 * - `command`: command lanes and writable value lanes;
 * - `admin`: warm, dead letters, `/metrics`, `/settled`. Node-wide admin resources need
 *   `admin` on `/**` (every path), since they concern every twin.
 */
export const RIGHTS = ['read', 'ingest', 'command', 'admin'] as const;

export type Right = (typeof RIGHTS)[number];

/** A set of rights as bits (`read` = 1, `ingest` = 2, `command` = 4, `admin` = 8). */
export type RightBits = number;

const BIT: Record<Right, RightBits> = { read: 1, ingest: 2, command: 4, admin: 8 };

/** The bit of one right. */
export function rightBit(right: Right): RightBits {
  return BIT[right];
}

/** True when `value` names a right. */
export function isRight(value: unknown): value is Right {
  return typeof value === 'string' && (RIGHTS as readonly string[]).includes(value);
}

/**
 * The bits of a list of rights; `'*'` stands for all four.
 *
 * @example
 * ```ts
 * rightsToBits(['read', 'command']); // 5
 * ```
 */
export function rightsToBits(rights: readonly (Right | '*')[]): RightBits {
  let bits = 0;
  for (const r of rights) bits |= r === '*' ? 15 : BIT[r];
  return bits;
}

/** The names of the rights in `bits`, for logs and docs. */
export function bitsToRights(bits: RightBits): Right[] {
  return RIGHTS.filter((r) => (bits & BIT[r]) !== 0);
}
