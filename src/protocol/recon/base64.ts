/**
 * Standard (RFC 4648 §4) base64 for Recon `%data` literals. Hand-written rather than
 * Buffer-based so the codec also runs in browsers.
 */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

const DECODE = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i;

/** Base64 digit value of char code `c`, or -1. */
export function base64Digit(c: number): number {
  return c < 128 ? (DECODE[c] ?? -1) : -1;
}

/** Padded base64 text of `bytes`. */
export function encodeBase64(bytes: Uint8Array): string {
  let out = '';
  const n = bytes.length;
  let i = 0;
  for (; i + 2 < n; i += 3) {
    const x = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8) | (bytes[i + 2] as number);
    out += ALPHABET[x >>> 18]! + ALPHABET[(x >>> 12) & 63]! + ALPHABET[(x >>> 6) & 63]! + ALPHABET[x & 63]!;
  }
  if (n - i === 1) {
    const x = (bytes[i] as number) << 16;
    out += ALPHABET[x >>> 18]! + ALPHABET[(x >>> 12) & 63]! + '==';
  } else if (n - i === 2) {
    const x = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8);
    out += ALPHABET[x >>> 18]! + ALPHABET[(x >>> 12) & 63]! + ALPHABET[(x >>> 6) & 63]! + '=';
  }
  return out;
}

/**
 * Decodes `digits` (alphabet characters only, padding already stripped).
 * Returns undefined when the digit count cannot come from whole bytes (length % 4 === 1).
 */
export function decodeBase64(digits: string): Uint8Array | undefined {
  const n = digits.length;
  const rem = n % 4;
  if (rem === 1) return undefined;
  const out = new Uint8Array(((n - rem) / 4) * 3 + (rem === 0 ? 0 : rem - 1));
  let o = 0;
  let i = 0;
  for (; i + 3 < n; i += 4) {
    const x =
      (base64Digit(digits.charCodeAt(i)) << 18) |
      (base64Digit(digits.charCodeAt(i + 1)) << 12) |
      (base64Digit(digits.charCodeAt(i + 2)) << 6) |
      base64Digit(digits.charCodeAt(i + 3));
    out[o++] = x >>> 16;
    out[o++] = (x >>> 8) & 255;
    out[o++] = x & 255;
  }
  if (rem >= 2) {
    const x = (base64Digit(digits.charCodeAt(i)) << 18) | (base64Digit(digits.charCodeAt(i + 1)) << 12);
    out[o++] = x >>> 16;
    if (rem === 3) {
      const y = x | (base64Digit(digits.charCodeAt(i + 2)) << 6);
      out[o] = (y >>> 8) & 255; // the last byte
    }
  }
  return out;
}
