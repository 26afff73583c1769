// eslint-disable-next-line @typescript-eslint/unbound-method -- only ever called with .call(record, key)
const hasOwn = Object.prototype.hasOwnProperty;

/**
 * `record[key]` if `key` is the record's own property, else undefined: the one lookup for
 * a name a client chose (a lane, an event type, a hook) in a plain object. `twin.lanes[name]`
 * would answer `Object.prototype`'s members too: `constructor`, `toString` and `__proto__`
 * are "lanes" of every twin, and `?lanes=__proto__` was a 500 from deep inside a read.
 *
 * @example
 * ```ts
 * own({ temperature: 1 }, 'temperature'); // 1
 * own({ temperature: 1 }, 'constructor'); // undefined
 * ```
 */
export function own<T>(record: Readonly<Record<string, T>> | undefined, key: string): T | undefined {
  return record !== undefined && hasOwn.call(record, key) ? record[key] : undefined;
}
