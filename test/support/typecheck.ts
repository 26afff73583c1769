/**
 * Type-checks TypeScript the way a user's project would see twinflow: the repo's compiler
 * options (strict and the rest of tsconfig.json), `twinflow`, `twinflow/model`, `twinflow/models` and
 * `twinflow/client` resolved to this checkout's sources. For documentation examples
 * (README code blocks) and compile-time API tests (`@ts-expect-error` lines must still error).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A file to check: on disk (`text` undefined) or in memory, at `ROOT/fileName`. */
export interface CheckedFile {
  readonly fileName: string;
  readonly text?: string;
}

function options(): ts.CompilerOptions {
  const config = ts.readConfigFile(ROOT + 'tsconfig.json', (p) => ts.sys.readFile(p));
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, ROOT);
  return {
    ...parsed.options,
    noEmit: true,
    // Examples declare what they show (`const report = await rt.ingest(…)`) without using it.
    noUnusedLocals: false,
    noUnusedParameters: false,
    paths: {
      twinflow: [ROOT + 'src/index.ts'],
      'twinflow/model': [ROOT + 'src/model/index.ts'],
      'twinflow/models': [ROOT + 'models/index.ts'],
      'twinflow/client': [ROOT + 'src/client/index.ts'],
    },
  };
}

/**
 * The compiler's diagnostics for each file, as `line:col message` strings (empty: it
 * compiles). In-memory files live in the repo root, so they are ES modules (package.json
 * `type: module`) and may use top-level await, as README examples do.
 */
export function typecheck(files: readonly CheckedFile[]): Map<string, string[]> {
  const compilerOptions = options();
  const host = ts.createCompilerHost(compilerOptions, true);
  const virtual = new Map(files.filter((f) => f.text !== undefined).map((f) => [ROOT + f.fileName, f.text!]));
  const getSourceFile = host.getSourceFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  const readFile = host.readFile.bind(host);
  host.fileExists = (name) => virtual.has(name) || fileExists(name);
  host.readFile = (name) => virtual.get(name) ?? readFile(name);
  host.getSourceFile = (name, language, onError, create) => {
    const text = virtual.get(name);
    return text !== undefined
      ? ts.createSourceFile(name, text, language, true)
      : getSourceFile(name, language, onError, create);
  };
  const roots = files.map((f) => ROOT + f.fileName);
  const program = ts.createProgram(roots, compilerOptions, host);
  const out = new Map<string, string[]>();
  for (const f of files) {
    const source = program.getSourceFile(ROOT + f.fileName);
    if (!source) throw new Error(`${f.fileName} is not part of the program`);
    out.set(
      f.fileName,
      ts.getPreEmitDiagnostics(program, source).map((d) => {
        const at = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : undefined;
        return `${at ? `${at.line + 1}:${at.character + 1} ` : ''}${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
      }),
    );
  }
  return out;
}

/** The type assertions in `text` (`x as T` but `as const`, `<T>x`, `x!`): what an example should not need. */
export function castsIn(text: string): string[] {
  const source = ts.createSourceFile('cast-scan.ts', text, ts.ScriptTarget.ES2022, true);
  const casts: string[] = [];
  const visit = (node: ts.Node): void => {
    const isConst =
      ts.isAsExpression(node) && ts.isTypeReferenceNode(node.type) && node.type.typeName.getText(source) === 'const';
    if ((ts.isAsExpression(node) && !isConst) || ts.isTypeAssertionExpression(node) || ts.isNonNullExpression(node))
      casts.push(node.getText(source));
    ts.forEachChild(node, visit);
  };
  visit(source);
  return casts;
}

/** The ```ts blocks of a Markdown file, in order; a block whose info string says `fragment` is left out. */
export function typescriptBlocks(markdownPath: string): string[] {
  return typescriptBlockFiles(markdownPath).map((f) => f.text!);
}

/**
 * The same blocks as files to check: a block tagged ```ts file=garage.ts is that file (so a
 * later block can import it as './garage.js'); the others are `<prefix>-<n>.ts`.
 */
export function typescriptBlockFiles(markdownPath: string, prefix = 'readme-example'): CheckedFile[] {
  const text = readFileSync(ROOT + markdownPath, 'utf8');
  const files: CheckedFile[] = [];
  for (const m of text.matchAll(/^```ts([^\n]*)\n([\s\S]*?)^```$/gm)) {
    if (/\bfragment\b/.test(m[1]!)) continue;
    const named = /\bfile=([\w.-]+\.ts)\b/.exec(m[1]!)?.[1];
    files.push({ fileName: named ?? `${prefix}-${files.length + 1}.ts`, text: m[2]! });
  }
  return files;
}
