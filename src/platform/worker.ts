/**
 * One computation on a worker thread, so that seconds of arithmetic never stall the event loop (raters'
 * submissions, image downloads). The module runs from its compiled .js (dist/), or, under jest where there
 * is only TypeScript, from its .ts with every TypeScript file it requires transpiled on load by the
 * TypeScript compiler (a devDependency).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parentPort, Worker, workerData } from 'node:worker_threads';

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

/** Runs `exportName(input)` of `file` (see moduleFile) on a new worker thread and resolves with its result. */
export function runInWorker<Output>(file: string, exportName: string, input: unknown): Promise<Output> {
  const call: Call = { file, exportName, input };
  const entry = `${__filename.endsWith('.ts') ? TS_HOOK : ''}\nrequire(${JSON.stringify(__filename)}).serveCall();`;
  return new Promise<Output>((resolve, reject) => {
    const worker = new Worker(entry, { eval: true, workerData: call });
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

/** The worker's side: runs the call it was started with and posts the result back. */
export function serveCall(): void {
  const { file, exportName, input } = workerData as Call;
  Promise.resolve()
    .then(() => (require(file) as Record<string, (input: unknown) => unknown>)[exportName](input))
    .then(
      (value) => parentPort!.postMessage({ ok: true, value }),
      (error: Error) => parentPort!.postMessage({ ok: false, message: error.message, stack: error.stack }),
    );
}
