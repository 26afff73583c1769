import { describe, expect, it } from 'vitest';
import { publicError, TwinError } from '../../src/errors.js';

describe('publicError', () => {
  it('says once where the details are (TWIN_INTERNAL and TWIN_TURN_FAILED)', () => {
    for (const err of [
      new TypeError('l.syncEvents is not a function'),
      new TwinError('TWIN_TURN_FAILED', 'boom', undefined, { cause: new Error('x') }),
    ]) {
      const { error, correlationId } = publicError(err);
      expect(error.message.match(/server log has the details/g)).toHaveLength(1);
      expect(error.message).toContain(`correlation id ${correlationId}`);
    }
  });
});
