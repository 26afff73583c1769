/** Setup file (vitest.config.ts): the support modules' cleanups after every test of every file (see cleanup.ts). */
import { afterEach } from 'vitest';
import { runCleanups } from './cleanup.js';

afterEach(runCleanups);
