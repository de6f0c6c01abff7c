import fs from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';

/**
 * The dashboard's static files: web/ bundled by esbuild (Preact, JSX) into one script, with its
 * page and style sheet, into `outDir`. Nothing is fetched at run time: the page loads only these
 * three files from the app itself (its Content-Security-Policy allows nothing else).
 */
export const DASHBOARD_FILES = ['index.html', 'app.js', 'app.css'] as const;

export async function buildDashboard(root: string, outDir: string): Promise<void> {
  fs.rmSync(outDir, { recursive: true, force: true });
  await build({
    entryPoints: [path.join(root, 'web/main.tsx')],
    outfile: path.join(outDir, 'app.js'),
    bundle: true,
    platform: 'browser',
    // Browsers of the last few years; evergreen Edge and Chrome are what operators use.
    target: ['es2020'],
    format: 'iife',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: true,
    legalComments: 'none',
    logLevel: 'warning',
  });
  for (const file of ['index.html', 'app.css']) fs.copyFileSync(path.join(root, 'web', file), path.join(outDir, file));
}

if (require.main === module) {
  const root = path.resolve(__dirname, '../..');
  buildDashboard(root, path.join(root, 'dist/dashboard')).catch((error: Error) => {
    console.error(`Building the dashboard failed: ${error.message}`);
    process.exit(1);
  });
}
