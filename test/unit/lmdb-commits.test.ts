import { describe, expect, it } from 'vitest';
import { Commits } from '../../src/store/lmdb-commits.js';

describe('Commits (the commit promises of one LMDB write batch)', () => {
  it('adds a shared transaction promise once and settles with it', async () => {
    const c = new Commits();
    expect(c.empty).toBe(true);
    const tx = Promise.resolve(true);
    c.add(tx);
    c.add(tx);
    c.add(undefined);
    expect(c.empty).toBe(false);
    await expect(c.settled()).resolves.toBe(true);
  });

  it('fails the batch when an earlier transaction fails, though the last one committed', async () => {
    const c = new Commits();
    const first = Promise.reject(new Error('MDB_MAP_FULL'));
    const second = Promise.resolve(true);
    c.add(first);
    c.add(second);
    c.add(first); // a later write of the first transaction again: still one entry
    await expect(c.settled()).rejects.toThrow('MDB_MAP_FULL');
  });
});
