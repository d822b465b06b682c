/**
 * The module seams, checked on the import graph of src/ (read with the TypeScript parser):
 * - no import cycle (type-only imports aside: they vanish at run time);
 * - the platform imports only the platform (and the plain TypeORM migrations of its tables);
 * - domain code never imports the API layers (resolvers, schema, server, cli) nor graphql: only a domain's
 *   entry file (module.ts) wires its resolvers, routes and commands;
 * - the domains depend on one another without cycles, types included;
 * - modules.ts lists every domain that has an entry file.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const SRC = path.resolve(__dirname, '..', '..', 'src');
const API_LAYERS = ['resolvers', 'schema', 'server', 'cli'];
const LAYERS = ['platform', 'entities', 'types', ...API_LAYERS];

interface Import {
  target: string; // a file under src/, or a package name
  typeOnly: boolean;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    if (statSync(file).isDirectory()) return sourceFiles(file);
    return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [file] : [];
  });
}

function resolveLocal(from: string, specifier: string): string {
  const base = path.resolve(path.dirname(from), specifier);
  for (const candidate of [`${base}.ts`, path.join(base, 'index.ts'), base]) {
    try {
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // next candidate
    }
  }
  throw new Error(`${path.relative(SRC, from)} imports ${specifier}, which does not resolve`);
}

function importsOf(file: string): Import[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
  const found: Import[] = [];
  const add = (specifier: string, typeOnly: boolean) =>
    found.push({ target: specifier.startsWith('.') ? resolveLocal(file, specifier) : specifier, typeOnly });
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const namedOnlyTypes =
        clause !== undefined &&
        !clause.name &&
        clause.namedBindings !== undefined &&
        ts.isNamedImports(clause.namedBindings) &&
        clause.namedBindings.elements.length > 0 &&
        clause.namedBindings.elements.every((element) => element.isTypeOnly);
      add(node.moduleSpecifier.text, clause?.isTypeOnly === true || namedOnlyTypes);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      add(node.moduleSpecifier.text, node.isTypeOnly);
    } else if (
      ts.isCallExpression(node) &&
      node.arguments.length === 1 &&
      ts.isStringLiteral(node.arguments[0]) &&
      (node.expression.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(node.expression) && node.expression.text === 'require'))
    ) {
      add(node.arguments[0].text, false);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

const files = sourceFiles(SRC);
const graph = new Map(files.map((file) => [file, importsOf(file)]));
const rel = (file: string) => path.relative(SRC, file);
const folderOf = (file: string) => rel(file).split(path.sep)[0];
const isLocal = (target: string) => target.startsWith(SRC);
const isEntry = (file: string) => path.basename(file) === 'module.ts' && !LAYERS.includes(folderOf(file));
const domainFolders = [...new Set(files.map(folderOf))].filter((folder) => !LAYERS.includes(folder) && !folder.endsWith('.ts'));

/** Strongly connected components with more than one member (Tarjan). */
function cycles(nodes: string[], edges: (node: string) => string[]): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, next);
    low.set(node, next++);
    stack.push(node);
    onStack.add(node);
    for (const target of edges(node)) {
      if (!index.has(target)) {
        visit(target);
        low.set(node, Math.min(low.get(node)!, low.get(target)!));
      } else if (onStack.has(target)) low.set(node, Math.min(low.get(node)!, index.get(target)!));
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const node of nodes) if (!index.has(node)) visit(node);
  return found;
}

it('has no import cycle (type-only imports aside)', () => {
  const found = cycles(files, (file) => graph.get(file)!.filter((entry) => isLocal(entry.target) && !entry.typeOnly).map((entry) => entry.target));
  expect(found.map((cycle) => cycle.map(rel))).toEqual([]);
});

it('keeps the platform free of domains', () => {
  const offending = files
    .filter((file) => folderOf(file) === 'platform')
    .flatMap((file) =>
      graph
        .get(file)!
        .filter((entry) => isLocal(entry.target) && folderOf(entry.target) !== 'platform' && !rel(entry.target).startsWith(`entities${path.sep}migrations`))
        .map((entry) => `${rel(file)} -> ${rel(entry.target)}`),
    );
  expect(offending).toEqual([]);
});

it('keeps domain code out of the API layers and free of graphql (only module.ts wires them)', () => {
  const offending = files
    .filter((file) => domainFolders.includes(folderOf(file)) && !isEntry(file))
    .flatMap((file) =>
      graph
        .get(file)!
        .filter((entry) => (isLocal(entry.target) ? API_LAYERS.includes(folderOf(entry.target)) : /^(type-)?graphql(-|$)/.test(entry.target)))
        .map((entry) => `${rel(file)} -> ${isLocal(entry.target) ? rel(entry.target) : entry.target}`),
    );
  expect(offending).toEqual([]);
});

it('keeps entities free of resolvers, the server and the CLI', () => {
  const offending = files
    .filter((file) => folderOf(file) === 'entities')
    .flatMap((file) =>
      graph
        .get(file)!
        .filter((entry) => isLocal(entry.target) && ['resolvers', 'server', 'cli'].includes(folderOf(entry.target)))
        .map((entry) => `${rel(file)} -> ${rel(entry.target)}`),
    );
  expect(offending).toEqual([]);
});

it('has domains that depend on one another without cycles', () => {
  const edges = (folder: string) => [
    ...new Set(
      files
        .filter((file) => folderOf(file) === folder && !isEntry(file))
        .flatMap((file) => graph.get(file)!.filter((entry) => isLocal(entry.target) && domainFolders.includes(folderOf(entry.target))))
        .map((entry) => folderOf(entry.target))
        .filter((target) => target !== folder),
    ),
  ];
  expect(cycles(domainFolders, edges)).toEqual([]);
});

it('lists every domain entry file in src/modules.ts', () => {
  const entries = files.filter(isEntry).map(rel).sort();
  const listed = graph
    .get(path.join(SRC, 'modules.ts'))!
    .filter((entry) => isLocal(entry.target) && isEntry(entry.target))
    .map((entry) => rel(entry.target))
    .sort();
  expect(listed).toEqual(entries);
  expect(entries.length).toBeGreaterThanOrEqual(6);
});
