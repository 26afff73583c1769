/**
 * Links across a worker restart (review finding R5): a worker that dies is restarted and
 * its links are registered again. A link must be registered exactly once then, whether
 * it was open before the crash or its observe was still unanswered during it; a link
 * closed meanwhile not at all; and a wildcard link still counting its twins must not be
 * linked before its count admits it. Real worker threads (2), real LMDB.
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { buildingModels, buildingModelSource } from '../../models/index.js';
import { createRuntime, type EventInput, type LaneEvent, type Runtime } from '../../src/index.js';
import type { WorkerShardHost } from '../../src/hosting/worker-host.js';
import { tempDir } from '../support/tmp.js';

const ROOM = '/org/o/site/s/building/1/floor/1/unit/a/room';
const sensor = (room: number) => `${ROOM}/${room}/sensors/climate`;
const ALL = `${ROOM}/*/sensors/climate`;
const MARK = 77.7;

let id = 0;
const reading = (room: number, temperature: number): EventInput => ({
  subject: sensor(room),
  id: `r${id++}`,
  source: 'test',
  data: { temperature, humidity: 40 },
});

const runtimes: Runtime[] = [];
afterEach(async () => {
  for (const rt of runtimes.splice(0)) await rt.close();
});

describe('R5 links across a worker restart', () => {
  it('R5 links open before a worker crash and links pending during it each deliver once after the restart, a link closed meanwhile and a wildcard link over its limit register nothing, and unlinking leaves no observer', async () => {
    const rt = createRuntime({
      models: buildingModels(),
      logger: pino({ level: 'silent' }),
      workers: { count: 2, models: buildingModelSource(), dataDir: tempDir() },
    });
    runtimes.push(rt);
    const host = (rt as unknown as { host: WorkerShardHost }).host;
    await rt.ingest([1, 2, 3, 4].map((room) => reading(room, 20 + room)));
    await rt.settle();
    const baseline = rt.stats().observers;

    // How often each link saw the marked reading; every event of the link that must never be made.
    const marked = new Map<string, number>();
    const count = (name: string) => (event: LaneEvent) => {
      if (event.type === 'value' && (event.value as { temperature?: number } | null)?.temperature === MARK)
        marked.set(name, (marked.get(name) ?? 0) + 1);
    };
    const tooWideEvents: LaneEvent[] = [];

    const exactBefore = rt.link(sensor(1), 'latest', count('exact before'));
    const wildcardBefore = rt.linkFilter(ALL, 'latest', count('wildcard before'));
    await Promise.all([exactBefore.synced, wildcardBefore.synced]);

    // Unanswered when both workers die: their messages reach no worker, they are sent again.
    const exactDuring = rt.link(sensor(2), 'latest', count('exact during'));
    const wildcardDuring = rt.linkFilter(ALL, 'latest', count('wildcard during'));
    const tooWide = rt.linkFilter(ALL, 'latest', (e) => tooWideEvents.push(e), { limit: 2 });
    const closedDuring = rt.link(sensor(3), 'latest', count('closed during'));
    const crashed = Promise.all([host.crashWorker(0), host.crashWorker(1)]);
    closedDuring.close();
    await crashed;

    await Promise.all([exactDuring.synced, wildcardDuring.synced]);
    await expect(tooWide.synced).rejects.toMatchObject({ code: 'TWIN_TOO_MANY_TWINS' });
    await rt.ingest([reading(1, MARK), reading(2, MARK), reading(3, MARK)]);
    // Lane events travel in the batches before the settle answers: every delivery is in.
    await rt.settle();
    expect(Object.fromEntries(marked)).toEqual({
      'exact before': 1,
      'wildcard before': 3,
      'exact during': 1,
      'wildcard during': 3,
    });
    expect(tooWideEvents).toEqual([]); // the old code linked it (limit Infinity) before its count refused it

    for (const link of [exactBefore, wildcardBefore, exactDuring, wildcardDuring]) link.close();
    await rt.settle();
    expect(rt.stats().observers).toBe(baseline);
    // Twins started for exact links are released with them (a leaked observer held its twin);
    // sensor 3 was started by its reading, not by a link.
    expect(rt.activePaths().filter((p) => p.endsWith('/sensors/climate'))).toEqual([sensor(3)]);
  }, 60_000);
});
