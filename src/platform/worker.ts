/**
 * One computation on a worker thread, so that seconds of arithmetic never stall the event loop (raters'
 * submissions, image downloads). The module runs from its compiled .js (dist/), or, under jest where there
 * is only TypeScript, from its .ts with every TypeScript file it requires transpiled on load by the
 * TypeScript compiler (a devDependency).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

interface Call {
  file: string;
  exportName: string;
  input: unknown;
}

/** A hook for .ts files (jest only), prepended to the worker's script. */
const TS_HOOK = `
const ts = require('typescript');
const fs = require('node:fs');
require.extensions['.ts'] = (module, filename) => {
  const { outputText } = ts.transpileModule(fs.readFileSync(filename, 'utf8'), {
    fileName: filename,
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, experimentalDecorators: true, emitDecoratorMetadata: true },
  });
  module._compile(outputText, filename);
};`;

/** The module file to run: the compiled .js beside `source`, else the .ts itself. */
export function moduleFile(directory: string, name: string): string {
  const compiled = path.join(directory, `${name}.js`);
  return existsSync(compiled) ? compiled : path.join(directory, `${name}.ts`);
}

/**
 * A worker thread running the module `file` (see moduleFile) with `workerData`: the compiled .js directly,
 * a .ts through the transpile-on-load hook.
 */
export function startModuleWorker(file: string, workerData: unknown): Worker {
  if (!file.endsWith('.ts')) return new Worker(file, { workerData });
  return new Worker(`${TS_HOOK}\nrequire(${JSON.stringify(file)});`, { eval: true, workerData });
}

/** Runs `exportName(input)` of `file` (see moduleFile) on a new worker thread and resolves with its result. */
export function runInWorker<Output>(file: string, exportName: string, input: unknown): Promise<Output> {
  const call: Call = { file, exportName, input };
  return new Promise<Output>((resolve, reject) => {
    const worker = startModuleWorker(moduleFile(__dirname, 'worker'), call);
    let settled = false;
    worker.once('message', (reply: { ok: true; value: Output } | { ok: false; message: string; stack?: string }) => {
      settled = true;
      if (reply.ok) resolve(reply.value);
      else reject(Object.assign(new Error(reply.message), { stack: reply.stack }));
      void worker.terminate();
    });
    worker.once('error', (error) => {
      settled = true;
      reject(error);
    });
    worker.once('exit', (code) => {
      if (!settled) reject(new Error(`the worker for ${path.basename(file)} exited (code ${code}) without a result`));
    });
  });
}

/** The worker's side: this module, loaded on a worker thread by runInWorker, runs its call and posts the result. */
if (!isMainThread && (workerData as Partial<Call> | null)?.exportName) {
  const { file, exportName, input } = workerData as Call;
  Promise.resolve()
    .then(() => (require(file) as Record<string, (input: unknown) => unknown>)[exportName](input))
    .then(
      (value) => parentPort!.postMessage({ ok: true, value }),
      (error: Error) => parentPort!.postMessage({ ok: false, message: error.message, stack: error.stack }),
    );
}
