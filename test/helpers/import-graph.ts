/**
 * The project's value-import graph, and the checks that keep its layers.
 *
 * Only imports that exist when the code runs count: `import type`, `import { type A }`, imports
 * whose every name is an interface or a type alias, and `typeof import('…')` are erased by the
 * compiler and are left out; `require('…')` calls and re-exports (`export … from`) are kept. The
 * TypeScript compiler reads the files, so the kind of every imported name comes from its
 * declaration, not from a guess at the text.
 */
import * as path from 'path';
import * as ts from 'typescript';

/** Each file (relative to the project root, with `/`) and the project files it imports values from. */
export type ImportGraph = ReadonlyMap<string, readonly string[]>;

/** Reads the files of a tsconfig and returns which project files each imports values from. */
export function valueImportGraph(tsconfigPath: string): ImportGraph {
  const root = path.dirname(path.resolve(tsconfigPath));
  const config = ts.getParsedCommandLineOfConfigFile(path.resolve(tsconfigPath), {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(`cannot read ${tsconfigPath}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
    },
  });
  if (!config) throw new Error(`cannot read ${tsconfigPath}`);
  // Only project files matter: packages and ambient types would cost seconds and add no edge.
  const options: ts.CompilerOptions = { ...config.options, noEmit: true, types: [], skipLibCheck: true, noResolve: true };
  const program = ts.createProgram({ rootNames: config.fileNames, options });
  const checker = program.getTypeChecker();
  const relative = (file: string) => path.relative(root, file).split(path.sep).join('/');
  const inProject = (file: string) => !file.includes('/node_modules/') && !path.relative(root, file).startsWith('..');

  const graph = new Map<string, string[]>();
  for (const source of program.getSourceFiles()) {
    if (source.isDeclarationFile || !inProject(source.fileName)) continue;
    const targets = new Set<string>();
    const add = (specifier: string) => {
      const resolved = ts.resolveModuleName(specifier, source.fileName, options, ts.sys).resolvedModule;
      if (resolved && !resolved.isExternalLibraryImport && inProject(resolved.resolvedFileName) && !resolved.resolvedFileName.endsWith('.d.ts')) {
        targets.add(relative(resolved.resolvedFileName));
      }
    };
    const visit = (node: ts.Node): void => {
      if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
        if (importsValue(node, checker)) add(node.moduleSpecifier.text);
        return;
      }
      if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
        if (exportsValue(node, checker)) add(node.moduleSpecifier.text);
        return;
      }
      if (ts.isImportEqualsDeclaration(node) && !node.isTypeOnly && ts.isExternalModuleReference(node.moduleReference) && ts.isStringLiteral(node.moduleReference.expression)) {
        add(node.moduleReference.expression.text);
        return;
      }
      if (ts.isCallExpression(node) && node.arguments.length === 1 && ts.isStringLiteralLike(node.arguments[0])) {
        const isRequire = ts.isIdentifier(node.expression) && node.expression.text === 'require';
        if (isRequire || node.expression.kind === ts.SyntaxKind.ImportKeyword) add(node.arguments[0].text);
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
    graph.set(relative(source.fileName), [...targets].sort());
  }
  return graph;
}

function importsValue(node: ts.ImportDeclaration, checker: ts.TypeChecker): boolean {
  const clause = node.importClause;
  if (!clause) return true; // `import './x'` runs the module for its effects
  if (clause.isTypeOnly) return false;
  if (clause.name && isValue(clause.name, checker)) return true;
  const bindings = clause.namedBindings;
  if (!bindings) return false;
  if (ts.isNamespaceImport(bindings)) return true;
  return bindings.elements.some((element) => !element.isTypeOnly && isValue(element.name, checker));
}

function exportsValue(node: ts.ExportDeclaration, checker: ts.TypeChecker): boolean {
  if (node.isTypeOnly) return false;
  const clause = node.exportClause;
  if (!clause || ts.isNamespaceExport(clause)) return true; // `export * from` may carry values
  return clause.elements.some((element) => !element.isTypeOnly && isValue(element.propertyName ?? element.name, checker));
}

/** Whether an imported name stands for something that exists at run time. An unknown name counts as a value. */
function isValue(name: ts.Identifier | ts.StringLiteral, checker: ts.TypeChecker): boolean {
  const symbol = checker.getSymbolAtLocation(name);
  if (!symbol) return true;
  const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
  if (target.flags & ts.SymbolFlags.Value) return true;
  return (target.flags & (ts.SymbolFlags.Type | ts.SymbolFlags.Namespace)) === 0;
}

/** Files a rule speaks of: a folder (ending in `/`) or one file, relative to the project root. */
export type FilePattern = string;

const matches = (file: string, patterns: readonly FilePattern[]) =>
  patterns.some((pattern) => (pattern.endsWith('/') ? file.startsWith(pattern) : file === pattern));

/** A layer rule: an arrow that must never point the named way, directly or through other files. */
export type LayerRule =
  | {
      /** The rule in a sentence, as the failure shows it. */
      readonly rule: string;
      readonly from: readonly FilePattern[];
      readonly neverReaches: readonly FilePattern[];
      /** Files inside `neverReaches` that may be reached after all. @default none */
      readonly except?: readonly FilePattern[];
    }
  | {
      readonly rule: string;
      /** No file here reaches itself through files here. */
      readonly noCycleWithin: readonly FilePattern[];
    };

/**
 * The chains (`a → b → c`) by which a graph breaks a rule; none when it keeps it. For a reach rule,
 * one shortest chain from each file that breaks it; for a cycle rule, the shortest circle through
 * each file that no circle named before passes through.
 */
export function layerViolations(graph: ImportGraph, layerRule: LayerRule): string[] {
  if ('noCycleWithin' in layerRule) return cycles(graph, layerRule.noCycleWithin);
  const forbidden = (file: string) => matches(file, layerRule.neverReaches) && !matches(file, layerRule.except ?? []);
  const chains: string[] = [];
  for (const start of [...graph.keys()].sort()) {
    if (!matches(start, layerRule.from)) continue;
    const chain = shortestPath(graph, start, forbidden, () => true);
    if (chain) chains.push(chain.join(' → '));
  }
  return chains;
}

/** Breadth first from `start` to the nearest file `isGoal` accepts, through files `mayPass` accepts. */
function shortestPath(graph: ImportGraph, start: string, isGoal: (file: string) => boolean, mayPass: (file: string) => boolean): string[] | undefined {
  const cameFrom = new Map<string, string>();
  const queue = [start];
  for (let i = 0; i < queue.length; i++) {
    const file = queue[i];
    for (const next of graph.get(file) ?? []) {
      if (cameFrom.has(next) || next === start) {
        if (next === start && isGoal(next)) return [...trail(cameFrom, file, start), next];
        continue;
      }
      cameFrom.set(next, file);
      if (isGoal(next)) return trail(cameFrom, next, start);
      if (mayPass(next)) queue.push(next);
    }
  }
  return undefined;
}

function trail(cameFrom: ReadonlyMap<string, string>, end: string, start: string): string[] {
  const files = [end];
  for (let file = end; file !== start; ) {
    file = cameFrom.get(file)!;
    files.unshift(file);
  }
  return files;
}

function cycles(graph: ImportGraph, within: readonly FilePattern[]): string[] {
  const inside = (file: string) => matches(file, within);
  const seen = new Set<string>();
  const found: string[] = [];
  for (const start of [...graph.keys()].sort()) {
    if (!inside(start) || seen.has(start)) continue;
    const circle = shortestPath(graph, start, (file) => file === start, inside);
    if (!circle) continue;
    circle.forEach((file) => seen.add(file));
    found.push(circle.join(' → '));
  }
  return found;
}
