// The layer rule and "no import cycles", checked by dependency-cruiser (`npm run lint:layers`).
//
// src/ is a stack of folders; a folder imports only itself, the folders listed for it below,
// and the two shared leaves src/errors.ts and src/logger.ts (which import nothing of ours).
// Type-only imports count: a type from the wrong layer couples the layers just the same.
// models/ and examples/ are users of the library: they import only the public API.

/** Each folder of src/ and the folders it may import (besides itself and the shared leaves). */
const BELOW_ACTORS = ['model', 'lanes', 'store', 'streams', 'protocol', 'topology'];
export const LAYERS = {
  topology: [],
  // Principals, grants on path patterns, credentials: what every front asks "may it?".
  access: ['topology'],
  protocol: ['topology'],
  streams: ['protocol', 'topology'],
  store: ['topology'],
  // LaneEvent lives in protocol; lanes refuse state the store cannot take (store/plain-data.ts).
  lanes: ['topology', 'streams', 'protocol', 'store'],
  model: ['lanes', 'topology', 'streams', 'protocol'],
  actors: BELOW_ACTORS,
  hosting: ['actors', ...BELOW_ACTORS],
  // Beside hosting: vshards over nodes on NATS (membership, leases, the durable input and state logs).
  cluster: ['hosting', 'actors', ...BELOW_ACTORS],
  runtime: ['cluster', 'hosting', 'actors', ...BELOW_ACTORS],
  node: ['runtime', 'cluster', 'hosting', 'actors', 'access', ...BELOW_ACTORS],
  recording: ['runtime', 'hosting', 'actors', ...BELOW_ACTORS],
  // The browser-safe WARP client: no lanes, store, actors, runtime or node.
  client: ['protocol', 'streams', 'topology'],
};

const SHARED_LEAVES = '^src/(errors|logger)\\.ts$';
const PUBLIC_API = '^src/(index|model/index|client/index)\\.ts$';
/** Every folder of ours; anything else (node_modules, node: builtins) is not this rule's business. */
const OURS = '^(src|models|examples|test|bench|web)/';

const layerRules = Object.entries(LAYERS).map(([folder, allowed]) => ({
  name: `layer-${folder}`,
  severity: 'error',
  comment: `src/${folder} may import only ${[...allowed, 'errors.ts', 'logger.ts'].join(', ')} (and itself)`,
  from: { path: `^src/${folder}/` },
  to: { path: OURS, pathNot: [`^src/(${[folder, ...allowed].join('|')})/`, SHARED_LEAVES] },
}));

/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    ...layerRules,
    {
      name: 'layer-cli',
      severity: 'error',
      comment: 'src/cli is the composition root: all of src and models/, but no tests, benchmarks or examples',
      from: { path: '^src/cli/' },
      to: { path: '^(examples|test|bench)/' },
    },
    {
      name: 'layer-public-api',
      severity: 'error',
      comment: 'src/index.ts exports the library: any folder of src but the CLI, nothing outside src',
      from: { path: '^src/index\\.ts$' },
      to: { path: '^src/cli/|^(models|examples|test|bench)/' },
    },
    {
      name: 'layer-shared-leaves',
      severity: 'error',
      comment: 'src/errors.ts and src/logger.ts are importable by all, so they import nothing of ours',
      from: { path: SHARED_LEAVES },
      to: { path: OURS },
    },
    {
      name: 'layer-src-root',
      severity: 'error',
      comment: 'a module at the root of src/ other than index.ts, errors.ts and logger.ts belongs in a layer folder',
      from: { path: '^src/[^/]+$', pathNot: '^src/(index|errors|logger)\\.ts$' },
      to: {},
    },
    {
      name: 'layer-models',
      severity: 'error',
      comment:
        'models/ uses the public API only (src/index.ts, src/model/index.ts, src/client/index.ts), and models/ itself',
      from: { path: '^models/' },
      to: { path: '^(src|examples|test|bench)/', pathNot: PUBLIC_API },
    },
    {
      name: 'layer-examples',
      severity: 'error',
      comment: 'an example set uses the public API only (src/index.ts, src/client/index.ts), and its own folder',
      from: { path: '^examples/([^/]+)/' },
      to: { path: OURS, pathNot: [PUBLIC_API, '^examples/$1/'] },
    },
    {
      name: 'layer-web',
      severity: 'error',
      comment: 'the dashboard (web/) is an app of the public client: src/client/index.ts and web/ itself only',
      from: { path: '^web/' },
      to: { path: OURS, pathNot: ['^src/client/index\\.ts$', '^web/'] },
    },
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'no import cycles (type-only imports included) in src/, models/ or examples/',
      from: { path: '^(src|models|examples|web)/' },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    includeOnly: OURS,
    // Type-only imports are erased before emit; the layer rule counts them too.
    tsPreCompilationDeps: true,
  },
};
