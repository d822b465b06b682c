import { existsSync } from 'node:fs';
import path from 'node:path';

/** The package root (the folder with package.json): above src/ in the sources, above dist/src/ when built. */
export function packageRoot(): string {
  let dir = __dirname;
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${__dirname}`);
    dir = parent;
  }
  return dir;
}
