import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

/** Every source file `src/client/index.ts` reaches through relative imports (type-only ones included). */
function moduleGraph(entry: string): Map<string, string> {
  const seen = new Map<string, string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    // Without comments: doc examples mention imports and globals that the code does not use.
    const text = readFileSync(file, 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/^\s*\/\/.*$/gm, '');
    seen.set(file, text);
    for (const m of text.matchAll(/(?:import|export)\s[^'"]*?from\s+'([^']+)'/g)) {
      const spec = m[1]!;
      if (spec.startsWith('.')) visit(join(dirname(file), spec.replace(/\.js$/, '.ts')));
      else seen.set(`${file} -> ${spec}`, ''); // a package or node: import, reported below
    }
  };
  visit(entry);
  return seen;
}

/*
 * The client is for Node and browsers: what it imports must run in a browser as is. This
 * walks its module graph (no bundler here) and rejects Node built-ins, packages, and uses
 * of Node-only globals, in milliseconds and without a browser. The real-browser run (an
 * esbuild bundle in headless chromium) is test/integration/client-browser.test.ts.
 */
describe('the client is browser-safe', () => {
  const graph = moduleGraph(join(SRC, 'client/index.ts'));

  it('imports only our own modules (no node: built-ins, no packages)', () => {
    expect([...graph.keys()].filter((k) => k.includes(' -> '))).toEqual([]);
    expect(graph.size).toBeGreaterThan(5);
  });

  it('uses no Node-only globals (Buffer, process, require, __dirname)', () => {
    const offenders: string[] = [];
    for (const [file, code] of graph) {
      for (const global of [/\bBuffer\b/, /\bprocess\./, /\brequire\(/, /\b__dirname\b/]) {
        if (global.test(code)) offenders.push(`${file.slice(SRC.length)}: ${global.source}`);
      }
    }
    expect(offenders).toEqual([]);
  });
});
