import type { ChangeExplainer, ExplainedChange } from '../src/model/index.js';

/** The HVAC tunables of the building model that decide `hvac.adjust` (see models/floor.ts). */
export interface HvacParams {
  setpoint: number;
  hvacBand: number;
  hvacClearBand: number;
}

/**
 * Explains why a floor's `hvac.adjust` / `hvac.adjust.cleared` is in one run only, from
 * the two runs' HVAC parameters: the floor mean was outside one run's band and inside the
 * other's, or an episode was already open (or not open) in the other run.
 *
 * @example
 * ```ts
 * const diff = compareDerived(a, b, explainHvac(defaultParams, { ...defaultParams, hvacBand: 1.5 }));
 * diff.changes[0].explanation; // 'mean 21.82 °C is 1.82 from setpoint 20: outside what-if band ±1.5, inside baseline band ±2'
 * ```
 */
export function explainHvac(baseline: HvacParams, whatIf: HvacParams): ChangeExplainer {
  return (c: ExplainedChange) => {
    if (!c.event.type.startsWith('hvac.adjust')) return undefined;
    const data = c.event.data as { average?: number; setpoint?: number };
    if (typeof data.average !== 'number') return undefined;
    const mine = c.side === 'baseline' ? baseline : whatIf;
    const other = c.side === 'baseline' ? whatIf : baseline;
    const otherName = c.side === 'baseline' ? 'what-if' : 'baseline';
    const dev = Math.abs(data.average - mine.setpoint);
    const head = `mean ${round(data.average)} °C is ${round(dev)} from setpoint ${mine.setpoint}`;
    if (c.event.type === 'hvac.adjust.cleared') {
      return `${head}: back within ±${mine.hvacClearBand}; the ${otherName} run had no open episode here`;
    }
    if (c.event.type !== 'hvac.adjust') return undefined;
    const otherDev = Math.abs(data.average - other.setpoint);
    if (dev > mine.hvacBand && otherDev <= other.hvacBand) {
      return `${head}: outside ${c.side === 'baseline' ? 'baseline' : 'what-if'} band ±${mine.hvacBand}, inside ${otherName} band ±${other.hvacBand}`;
    }
    return `${head}: outside both bands; the ${otherName} run already had an episode open (or started it at another time)`;
  };
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
