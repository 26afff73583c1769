/**
 * Bytes allocated on the V8 heap while `fn` runs: what the collections during it freed
 * (used heap before minus after each GC, from `v8.GCProfiler`) plus the growth of the used
 * heap from start to end. Counts objects that died young too, which a heap snapshot or
 * `heapUsed` alone does not; divided by the events fed, it is the bytes allocated per event.
 */
import v8 from 'node:v8';

interface GcStat {
  beforeGC: { heapStatistics: { usedHeapSize: number } };
  afterGC: { heapStatistics: { usedHeapSize: number } };
}

export async function bytesAllocated(fn: () => Promise<void> | void): Promise<number> {
  const profiler = new v8.GCProfiler();
  const before = process.memoryUsage().heapUsed;
  profiler.start();
  await fn();
  const after = process.memoryUsage().heapUsed;
  const { statistics } = profiler.stop() as unknown as { statistics: GcStat[] };
  let freed = 0;
  for (const s of statistics) freed += s.beforeGC.heapStatistics.usedHeapSize - s.afterGC.heapStatistics.usedHeapSize;
  return after - before + freed;
}
