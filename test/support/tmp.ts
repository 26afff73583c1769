import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEachTest } from './cleanup.js';

const dirs: string[] = [];
afterEachTest(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}, 'last');

/** A fresh temporary directory, removed after the test. */
export function tempDir(prefix = 'twinflow-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}
