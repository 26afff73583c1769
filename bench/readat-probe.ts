/**
 * What a past-state read costs (`Runtime.readAt`, `GET /twins/{path}?at=`): one sensor with
 * N journal entries in LMDB (relaxed), then a read refused by the bound (100 000 entries to
 * undo) and a read within it (the bound raised past N). Not a scenario of `npm run bench`:
 * a probe for docs/limits.md's figures.
 *
 *   npx tsc -p tsconfig.bench.json && node .bench-build/bench/readat-probe.js   # N=120000 by default
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { buildingModels } from '../models/index.js';
import { createRuntime, TwinError, type EventInput } from '../src/index.js';
import { LmdbStateStore } from '../src/store/lmdb-store.js';

const SENSOR = '/org/contoso/site/berlin/building/9/floor/1/unit/a/room/1/sensors/climate';
const N = Number(process.env.N ?? 120_000);

const dir = mkdtempSync(join(tmpdir(), 'twinflow-readat-'));
const rt = createRuntime({
  models: buildingModels(),
  logger: pino({ level: 'silent' }),
  journal: true,
  store: LmdbStateStore.open({ path: dir, durability: 'relaxed' }),
});
let time = 1_000_000;
for (let i = 0; i < N; i += 5000) {
  const batch: EventInput[] = [];
  for (let j = i; j < Math.min(N, i + 5000); j++)
    batch.push({
      subject: SENSOR,
      id: `h${j}`,
      source: 'probe',
      time: time++,
      data: { temperature: j % 40, humidity: 40 },
    });
  await rt.ingest(batch);
}
await rt.settle();
for (let round = 0; round < 3; round++) {
  let t0 = performance.now();
  try {
    await rt.readAt(SENSOR, 0);
  } catch (err) {
    if (!(err instanceof TwinError) || err.code !== 'TWIN_QUERY_INVALID') throw err;
  }
  const refused = performance.now() - t0;
  t0 = performance.now();
  await rt.readAt(SENSOR, 0, { maxEntries: N + 10 });
  const within = performance.now() - t0;
  console.log(
    `refused (> 100 000 to undo): ${refused.toFixed(1)} ms; within the bound (${N} undone): ${within.toFixed(0)} ms (${((within * 1000) / N).toFixed(1)} µs per entry)`,
  );
}
await rt.close();
rmSync(dir, { recursive: true, force: true });
