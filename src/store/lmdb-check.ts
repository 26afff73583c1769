import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { TwinError } from '../errors.js';

const MAGIC = 0xbeefc0de;
const P_BRANCH = 0x01;
const P_LEAF = 0x02;
const P_META = 0x08;
const P_INVALID = 0xffff_ffff_ffff_ffffn;

/**
 * The two page layouts lmdb-js builds with: LMDB 0.9 (data version 1, a 16-byte page
 * header) and the LMDB 1.0 layout lmdb-js uses by default (data version 2, the header
 * also holds the page's txnid: 24 bytes).
 */
const LAYOUTS = [
  { version: 1, header: 16, flags: 10 },
  { version: 2, header: 24, flags: 18 },
] as const;

/** One meta page, as far as this check reads it. */
interface Meta {
  psize: number;
  roots: [bigint, bigint]; // free-list DB, main DB
  lastPage: bigint;
  txnid: bigint;
}

/**
 * Checks the header of an LMDB environment's data.mdb before lmdb-js opens it (issue
 * 13.8). lmdb-js trusts the two meta pages (pages 0 and 1, LMDB picks the one with the
 * higher txnid): garbage in them makes the process segfault in native code a few seconds
 * after start, without a log line, and a supervisor restarts it into the same crash. This
 * reads the two pages (and the root pages the newer one names) and throws
 * TWIN_STORE_CORRUPT naming the file and what to do. Cheap: a few page reads at open.
 *
 * It checks the header only: damage deeper in the B-trees is found by LMDB when a read
 * reaches it (MDB_CORRUPTED / MDB_PAGE_NOTFOUND), and a record whose bytes do not decode
 * is quarantined (see LmdbStateStore.load).
 */
export function checkLmdbHeader(dir: string): void {
  const file = join(dir, 'data.mdb');
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // a new environment
    throw err;
  }
  try {
    const size = fstatSync(fd).size;
    if (size === 0) return; // created but never committed: LMDB initialises it
    const m0 = readMeta(fd, 0, 0, size, file);
    const m1 = readMeta(fd, 1, m0.psize, size, file);
    if (m1.psize !== m0.psize)
      throw corrupt(file, `the meta pages disagree on the page size (${m0.psize} and ${m1.psize})`);
    const newest = m1.txnid > m0.txnid ? m1 : m0;
    const layout = layoutOf(fd, 0)!;
    for (const [db, root] of [
      ['free-list', newest.roots[0]],
      ['main', newest.roots[1]],
    ] as const) {
      if (root === P_INVALID) continue;
      const page = readPage(fd, Number(root) * newest.psize, layout.header);
      if (page.readBigUInt64LE(0) !== root || (page.readUInt16LE(layout.flags) & (P_BRANCH | P_LEAF)) === 0) {
        throw corrupt(file, `the root page ${root} of the ${db} database is not a B-tree page`);
      }
    }
  } finally {
    closeSync(fd);
  }
}

function readMeta(fd: number, index: 0 | 1, psize: number, size: number, file: string): Meta {
  const at = index * psize;
  if (size < at + 256) throw corrupt(file, `the file is truncated (${size} bytes; meta page ${index} is missing)`);
  const layout = layoutOf(fd, at);
  if (!layout) throw corrupt(file, `meta page ${index} has no LMDB magic number (or an unknown data version)`);
  const page = readPage(fd, at, layout.header + 136);
  const m = layout.header; // MDB_meta: magic, version, address, mapsize, dbs[2] (48 bytes each), last_pg, txnid
  if (page.readBigUInt64LE(0) !== BigInt(index) || (page.readUInt16LE(layout.flags) & P_META) === 0) {
    throw corrupt(file, `page ${index} is not marked as a meta page`);
  }
  const pageSize = page.readUInt32LE(m + 24); // the free-list DB's md_pad holds the page size
  if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0 || (index === 1 && pageSize !== psize)) {
    throw corrupt(file, `meta page ${index} has an impossible page size (${pageSize})`);
  }
  const lastPage = page.readBigUInt64LE(m + 120);
  const pages = BigInt(Math.floor(size / pageSize));
  if (lastPage < 1n || lastPage >= pages)
    throw corrupt(file, `meta page ${index} names page ${lastPage} as the last, but the file has ${pages} pages`);
  const roots: [bigint, bigint] = [page.readBigUInt64LE(m + 24 + 40), page.readBigUInt64LE(m + 24 + 48 + 40)];
  for (const root of roots) {
    if (root !== P_INVALID && (root < 2n || root > lastPage))
      throw corrupt(file, `meta page ${index} names a root page (${root}) outside the file`);
  }
  return { psize: pageSize, roots, lastPage, txnid: page.readBigUInt64LE(m + 128) };
}

function layoutOf(fd: number, at: number): (typeof LAYOUTS)[number] | undefined {
  const head = readPage(fd, at, 32);
  return LAYOUTS.find((l) => head.readUInt32LE(l.header) === MAGIC && head.readUInt32LE(l.header + 4) === l.version);
}

function readPage(fd: number, at: number, bytes: number): Buffer {
  const buf = Buffer.alloc(bytes);
  readSync(fd, buf, 0, bytes, at);
  return buf;
}

function corrupt(file: string, what: string): TwinError {
  return new TwinError(
    'TWIN_STORE_CORRUPT',
    `${file} is damaged: ${what}. The node did not start. Restore the data directory from a backup, or move it aside to start with an empty store`,
    { file },
  );
}
