import { TwinError } from '../../errors.js';
import { TwinPath } from '../../topology/index.js';
import type { GrantSet } from '../../access/path-grants.js';
import type { Right } from '../../access/rights.js';

/**
 * The one access rule every front goes through: `right` on `path` (or on every path, for
 * node-wide resources), else TWIN_FORBIDDEN. The message names the right and the path the
 * caller asked for, never whether a twin exists there, so a refusal reveals nothing beyond
 * what the caller already wrote.
 *
 * @example
 * ```ts
 * requireRight(grants, 'command', '/org/a/site/s1/building/b/floor/1/unit/u/commands'); // or throws 403
 * ```
 */
export function requireRight(grants: GrantSet, right: Right, path: string | undefined): void {
  const refused =
    path === undefined
      ? grants.allowsEverywhere(right)
        ? undefined
        : forbidden(right, undefined)
      : refusalOn(grants, right, path);
  if (refused) throw refused;
}

/**
 * {@link requireRight} as a value: the TWIN_FORBIDDEN error, or undefined when allowed.
 * allows() checks the path as parsed, so `org/a/` is the twin `/org/a`. What is no path at all
 * names no twin: the caller's own validation refuses it (400, `@nodeNotFound`), which reveals
 * nothing either.
 */
export function refusalOn(grants: GrantSet, right: Right, path: string): TwinError | undefined {
  return grants.allows(right, path) || !isPath(path) ? undefined : forbidden(right, path);
}

/** The TWIN_FORBIDDEN error for `right` on `path` (every path when undefined). */
export function forbidden(right: Right, path: string | undefined): TwinError {
  const where = path === undefined ? 'this node (a grant on /** is needed)' : truncate(path);
  return new TwinError('TWIN_FORBIDDEN', `no "${right}" right on ${where}`, {
    right,
    ...(path !== undefined && { path: truncate(path) }),
  });
}

function truncate(s: string): string {
  return s.length > 300 ? s.slice(0, 300) + '…' : s;
}

/**
 * The refusal of an event its sender may not send, or undefined when it may (or when its
 * subject is no path at all: the runtime refuses that with its own, more useful error).
 * Every ingest front (HTTP, CloudEvents, MQTT) asks this of each decoded event, so the
 * subject an event names, not the topic or URL it came by, is what the right is checked on.
 *
 * @example
 * ```ts
 * const refusal = ingestRefusal(grants, event.subject);
 * if (refusal) reject(refusal);
 * ```
 */
export function ingestRefusal(grants: GrantSet, subject: unknown): TwinError | undefined {
  return typeof subject === 'string' ? refusalOn(grants, 'ingest', subject) : undefined;
}

function isPath(text: string): boolean {
  try {
    TwinPath.parse(text);
    return true;
  } catch {
    return false;
  }
}
