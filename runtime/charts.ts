/**
 * The charting library (uPlot, MIT) the HTML report inlines and the dashboard serves from its own
 * origin: its minified build and stylesheet, read once. The deployed bundle has no node_modules,
 * so buildBundle() copies the two files next to main.js, and they are looked for there first.
 */
import * as fs from 'fs';
import * as path from 'path';

export const CHART_FILES = { js: 'uPlot.iife.min.js', css: 'uPlot.min.css' } as const;

let cached: { js: string; css: string } | undefined;

/** The folder holding uPlot's built files: beside this module in the bundle, else the installed package. */
export function chartLibraryDir(): string {
  if (fs.existsSync(path.join(__dirname, CHART_FILES.js))) return __dirname;
  return path.join(path.dirname(require.resolve('uplot/package.json')), 'dist');
}

export function chartLibrary(): { js: string; css: string } {
  if (!cached) {
    const dir = chartLibraryDir();
    cached = { js: fs.readFileSync(path.join(dir, CHART_FILES.js), 'utf8'), css: fs.readFileSync(path.join(dir, CHART_FILES.css), 'utf8') };
  }
  return cached;
}
