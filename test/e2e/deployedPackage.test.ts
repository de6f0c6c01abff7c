import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Sandbox, startSandbox } from '../../sandbox';
import { buildPackage, listFiles, packageDir, packageEntry, packageRoot } from '../../scripts/package';
import { failureRecord, pollToEnd, post } from '../support/sandboxClient';
import { scaledGateway } from '../support/scaledGateway';

/**
 * What `azd deploy` uploads: the zip azd makes from azure.yaml's `dist` folder, by its rules
 * (azure-dev ae35809f, cli/azd/pkg/project/project_utils.go createDeployableZip: the folder's
 * contents at the zip root, minus `.azure` folders, `local.settings.json` and the ignore file; a
 * `.funcignore` read from that folder if present; otherwise node_modules left out unless remoteBuild
 * is false). Then the same bundle runs in the sandbox's host, the way the worker loads package.json
 * "main", and issues a certificate.
 */
function azdZipEntries(folder: string, remoteBuild: boolean): string[] {
  const ignoreFile = path.join(folder, '.funcignore');
  const patterns = fs.existsSync(ignoreFile) ? fs.readFileSync(ignoreFile, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#')) : undefined;
  return listFiles(folder).filter((file) => {
    const parts = file.split('/');
    if (parts.includes('.azure') || file === 'local.settings.json' || file === '.funcignore') return false;
    // Only plain names and folder names occur in our checks; a pattern we cannot read fails the test below.
    if (patterns) return !patterns.some((p) => parts.includes(p.replace(/\/$/, '')));
    return remoteBuild === false || !parts.includes('node_modules');
  });
}

/** azure.yaml's `api` service settings (the file is small and flat enough to read by line). */
function serviceSettings(): { dist?: string; remoteBuild?: string; project?: string } {
  const yaml = fs.readFileSync(path.join(packageRoot, 'azure.yaml'), 'utf8');
  const service = yaml.slice(yaml.indexOf('\n  api:'));
  const value = (key: string): string | undefined => new RegExp(`\\n {4}${key}: ([^\\n#]+)`).exec(service)?.[1]?.trim();
  return { dist: value('dist'), remoteBuild: value('remoteBuild'), project: value('project') };
}

describe('the deployment package azd uploads', () => {
  let out: string;
  let files: string[];

  beforeAll(async () => {
    out = fs.mkdtempSync(path.join(os.tmpdir(), 'pkg-'));
    files = await buildPackage(out);
  }, 120_000);
  afterAll(() => fs.rmSync(out, { recursive: true, force: true }));

  it('is the dist-package folder the build writes, deployed as built (no remote build)', () => {
    const settings = serviceSettings();
    expect(settings).toEqual({ project: '.', dist: 'dist-package', remoteBuild: 'false' });
    expect(path.join(packageRoot, settings.project!, settings.dist!)).toBe(packageDir);
    // azd runs `npm run build` before zipping: that build writes the package.
    const scripts = (JSON.parse(fs.readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    expect(scripts.build).toMatch(/node dist\/scripts\/package\.js$/);
    // A project .funcignore excluding node_modules would make azd refuse remoteBuild false.
    const projectIgnore = path.join(packageRoot, '.funcignore');
    if (fs.existsSync(projectIgnore)) expect(fs.readFileSync(projectIgnore, 'utf8')).not.toMatch(/node_modules/);
  });

  it('zips the bundle, its source map, the dashboard, host.json and package.json, and nothing else', () => {
    const expected = ['dist/dashboard/app.css', 'dist/dashboard/app.js', 'dist/dashboard/index.html', 'dist/index.js', 'dist/index.js.map', 'host.json', 'package.json'];
    expect(azdZipEntries(out, false)).toEqual(expected);
    expect(files).toEqual(expected);
    const manifest = JSON.parse(fs.readFileSync(path.join(out, 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest.main).toBe(packageEntry);
    expect(manifest.scripts).toBeUndefined();
    expect(Object.keys(manifest.dependencies as Record<string, string>)).toEqual(['@azure/functions']);
    expect(fs.readFileSync(path.join(out, 'host.json'), 'utf8')).toBe(fs.readFileSync(path.join(packageRoot, 'host.json'), 'utf8'));
  });

  it('holds only the app: no sandbox, test or bench code, no sources, no keys', () => {
    const map = JSON.parse(fs.readFileSync(path.join(out, `${packageEntry}.map`), 'utf8')) as { sources: string[]; sourcesContent?: unknown };
    expect(map.sourcesContent).toBeUndefined();
    const ours = map.sources.filter((source) => !source.includes('node_modules/') && !source.startsWith('webpack://'));
    expect(ours.filter((source) => /(^|\/)src\//.test(source)).length).toBeGreaterThan(20);
    // Each of our sources, resolved from the map's folder, is under src/ or infra/ (roles.json), or
    // is package.json, of which only the version is taken (the OpenAPI document's info.version).
    for (const source of ours) expect(path.relative(packageRoot, path.resolve(out, 'dist', source))).toMatch(/^(src|infra)\/|^package\.json$/);
    const bundle = fs.readFileSync(path.join(out, packageEntry), 'utf8');
    expect(bundle).not.toMatch(/@axe-core\/playwright|typescript-eslint/);
    expect(bundle).not.toMatch(/-----BEGIN [A-Z ]*PRIVATE KEY-----/);
    expect(bundle).not.toMatch(/\.sandbox\/|pebble-challtestsrv|endpoints\.json/);
  });

  describe('run by the host', () => {
    let sandbox: Sandbox;
    let stateDir: string;

    beforeAll(async () => {
      stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-pkg-'));
      sandbox = await startSandbox(scaledGateway({ stateDir, appEntry: path.join(out, packageEntry) }));
    }, 120_000);
    afterAll(async () => {
      await sandbox?.stop();
      fs.rmSync(stateDir, { recursive: true, force: true });
    });

    it('registers the functions and issues a certificate end to end', async () => {
      const started = await post(sandbox, 'AddCertificateFunctions_HttpStart', { hostnames: [{ hostname: 'bundle.package.example' }] });
      expect(started.status).toBe(202);
      const { final } = await pollToEnd(String(started.body.statusQueryGetUri), undefined, 120_000);
      expect({ status: final.runtimeStatus, failure: final.runtimeStatus === 'Failed' ? failureRecord(final.output) : undefined }).toEqual({ status: 'Completed', failure: undefined });
    }, 180_000);

    it('serves the dashboard from the package', async () => {
      const page = await fetch(`${sandbox.endpoints.apiBaseUrl}/dashboard`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('/api/dashboard/app.js');
      const script = await fetch(`${sandbox.endpoints.apiBaseUrl}/dashboard/app.js`);
      expect(script.status).toBe(200);
      expect((await script.text()).length).toBeGreaterThan(10_000);
    });
  });
});
