// esbuild bundles imported CSS into app.css; for the type checker such an import is a side effect only.
declare module '*.css';
