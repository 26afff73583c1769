/** shownUrl: what a log line, metrics label or dead letter may show of a configured URL. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { shownUrl } from '../../src/node/shown-url.js';

describe('shownUrl', () => {
  it('hides a password and query values, and leaves every other URL as given', () => {
    expect(shownUrl('mqtt://tf:pw@broker:1883')).toBe('mqtt://tf:***@broker:1883');
    expect(shownUrl('https://hooks.example/in?token=abc&v=2')).toBe('https://hooks.example/in?token=***&v=***');
    expect(shownUrl('http://127.0.0.1:8080/hook')).toBe('http://127.0.0.1:8080/hook');
    expect(shownUrl('mqtt://user@broker')).toBe('mqtt://user@broker');
    expect(shownUrl('not a url')).toBe('not a url');
  });

  it('never shows a secret placed as a password or a query value', () => {
    // Marked, so no part of the URL around it can look like it.
    const secret = fc.string({ maxLength: 24 }).map((s) => `SEKRET${s}`);
    fc.assert(
      fc.property(secret, fc.boolean(), (s, inQuery) => {
        const url = inQuery
          ? `https://hook.example/p?a=1&key=${encodeURIComponent(s)}`
          : `mqtt://u:${encodeURIComponent(s)}@broker:1883`;
        const shown = shownUrl(url);
        expect(shown).not.toContain('SEKRET');
        expect(shown).toContain('***');
      }),
    );
  });
});
