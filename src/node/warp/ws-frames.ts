/**
 * Server-to-client WebSocket text frames (RFC 6455 §5.2: FIN, opcode 1, unmasked, no
 * extensions), built straight into the buffer that also holds the payload.
 *
 * Why not `ws.send`: it allocates a header per frame and writes header and payload as two
 * chunks; on the fan-out path that is one extra allocation and stream write per socket per
 * flush, for every one of thousands of sockets. The WARP server's sockets never compress
 * (`perMessageDeflate: false`) nor fragment, so a frame is just these bytes, written to the
 * same socket ws writes to (ws' `bufferedAmount` still counts them).
 *
 * @example
 * ```ts
 * const frame = Buffer.allocUnsafe(headerLength(5) + 5);
 * const at = writeHeader(frame, 0, 5); frame.write('hello', at);
 * ```
 */

/** FIN + text opcode. */
const FIN_TEXT = 0x81;

/** Bytes of the header of a frame with `payload` bytes. */
export function headerLength(payload: number): number {
  return payload < 126 ? 2 : payload < 0x10000 ? 4 : 10;
}

/** Writes the header of a text frame of `payload` bytes at `at`; returns where the payload starts. */
export function writeHeader(buf: Buffer, at: number, payload: number): number {
  buf[at] = FIN_TEXT;
  if (payload < 126) {
    buf[at + 1] = payload;
    return at + 2;
  }
  if (payload < 0x10000) {
    buf[at + 1] = 126;
    buf.writeUInt16BE(payload, at + 2);
    return at + 4;
  }
  buf[at + 1] = 127;
  buf.writeUInt32BE(Math.floor(payload / 0x100000000), at + 2);
  buf.writeUInt32BE(payload >>> 0, at + 6);
  return at + 10;
}
