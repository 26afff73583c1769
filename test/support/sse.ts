/**
 * Takes the complete Server-Sent Events of `text` (each ends with a blank line): the JSON of
 * their `data:` lines, in order, and the text of an event still arriving.
 *
 * @example
 * ```ts
 * const { events, rest } = takeSseEvents(': hi\n\ndata: {"type":"a"}\n\ndata: {');
 * // events: [{ type: 'a' }], rest: 'data: {'
 * ```
 */
export function takeSseEvents<T = unknown>(text: string): { events: T[]; rest: string } {
  const events: T[] = [];
  let end;
  while ((end = text.indexOf('\n\n')) >= 0) {
    const data = text
      .slice(0, end)
      .split('\n')
      .find((l) => l.startsWith('data: '));
    text = text.slice(end + 2);
    if (data) events.push(JSON.parse(data.slice(6)) as T);
  }
  return { events, rest: text };
}
