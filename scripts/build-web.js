#!/usr/bin/env node
// The browser apps of web/ (web/<app>/ with index.html, app.css and src/main.ts: the reading app,
// web/read, and any other), bundled with esbuild into web/dist/<app>/: the page, and its assets under
// assets/, served by the server itself (src/server/web-route.ts). No inline scripts or styles: the pages'
// Content-Security-Policy allows none.
const { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync } = require('node:fs');
const path = require('node:path');
const esbuild = require('esbuild');

const root = path.join(__dirname, '..');
const web = path.join(root, 'web');
const apps = readdirSync(web, { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && entry.name !== 'dist' && existsSync(path.join(web, entry.name, 'src', 'main.ts')))
  .map((entry) => entry.name);

for (const app of apps) {
  const source = path.join(web, app);
  const out = path.join(web, 'dist', app);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(path.join(out, 'assets'), { recursive: true });
  esbuild.buildSync({
    entryPoints: [path.join(source, 'src', 'main.ts')],
    outfile: path.join(out, 'assets', 'app.js'),
    bundle: true,
    minify: true,
    sourcemap: true,
    format: 'iife',
    target: 'es2020',
    platform: 'browser',
    logLevel: 'warning',
  });
  copyFileSync(path.join(source, 'index.html'), path.join(out, 'index.html'));
  if (existsSync(path.join(source, 'app.css'))) copyFileSync(path.join(source, 'app.css'), path.join(out, 'assets', 'app.css'));
  console.log(`medpsim: web app ${app} built into ${path.relative(root, out)}`);
}
