/**
 * libuv's thread pool (4 threads by default) runs the engine's kernels, file reads, zlib and sharp's calls
 * alike: with a few long kernels in it, an image download would wait for them. The server gives it 16
 * threads unless UV_THREADPOOL_SIZE says otherwise; it must be set before the pool's first use, so main.ts
 * imports this first.
 */
if (!process.env.UV_THREADPOOL_SIZE) process.env.UV_THREADPOOL_SIZE = '16';
