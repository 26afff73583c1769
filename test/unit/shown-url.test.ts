/** shownUrl: what a log line, metrics label or dead letter may show of a configured URL. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { shownUrl } from '../../src/node/shown-url.js';

describe('shownUrl', () => {
  it('hides a password and query values, and leaves every other URL as given', () => {
    expect(shownUrl('mqtt://tf:pw@broker:1883')).toBe('mqtt://tf:***@broker:1883');
    expect(shownUrl('https://hooks.example/in?token=abc&v=2')).toBe('https://hooks.example/in?token=***&v=***');
    expect(shownUrl('http://127.0.0.1:8080/hook')).toBe('http://127.0.0.1:8080/hook');
    expect(shownUrl('https://ghp_t0k3n@host/x')).toBe('https://***@host/x'); // a user alone: often a token
    expect(shownUrl('https://host/hook?S3CRET')).toBe('https://host/hook?***=***'); // a key without a value
    expect(shownUrl('not a url')).toBe('not a url');
  });

  it('never shows a secret placed as a password, a lone user, a query value or a bare query key', () => {
    // Marked, so no part of the URL around it can look like it.
    const secret = fc.string({ maxLength: 24 }).map((s) => `SEKRET${s}`);
    fc.assert(
      fc.property(secret, fc.nat(), (s, inQuery) => {
        const where = inQuery % 4;
        const secret = encodeURIComponent(s);
        const url = [
          `https://hook.example/p?a=1&key=${secret}`,
          `mqtt://u:${secret}@broker:1883`,
          `https://${secret}@hook.example/p`,
          `https://hook.example/p?${secret}`,
        ][where]!;
        const shown = shownUrl(url);
        expect(shown).not.toContain('SEKRET');
        expect(shown).toContain('***');
      }),
    );
  });
});
