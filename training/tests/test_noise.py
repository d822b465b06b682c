"""noise.py against Random123's known answers and, compiled with g++, against the engine's own header
(native/include/medpsim/random.hpp) and noise kernels (native/src/noise.cpp): bit for bit."""
import json
import os
import shutil
import subprocess
import tempfile
import unittest

import numpy as np

from medpsim_training import noise as N
from tests.helpers import REPO_ROOT

NATIVE = os.path.join(REPO_ROOT, "native")
SEEDS = (0, 1, 42, 0x0123456789ABCDEF, 0xFFFFFFFFFFFFFFFF)
STREAMS = (0x0100, 0x0200, 0x0202)
# Element indices: the first groups, and indices whose group needs the counter's high word.
INDICES = list(range(40)) + [(1 << 34) + 1, (1 << 34) + 2, (1 << 34) + 7, (1 << 40) + 3]

CPP = r"""
#include <cstdio>
#include <cstring>
#include <string>
#include "medpsim/random.hpp"
#ifdef WITH_ENGINE
#include "medpsim/kernels.hpp"
#endif
using namespace medpsim;
static unsigned fbits(float f) { unsigned b; std::memcpy(&b, &f, 4); return b; }
int main() {
  const unsigned ctr[][6] = {{0, 0, 0, 0, 0, 0}, {0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu},
                             {0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u, 0xa4093822u, 0x299f31d0u},
                             {7, 1, 0x200, 3, 0xdeadbeefu, 42}};
  for (auto& c : ctr) {
    Philox4 r = philox4x32_10(Philox4{{c[0], c[1], c[2], c[3]}}, c[4], c[5]);
    std::printf("philox %u %u %u %u %u %u %u %u %u %u\n", c[0], c[1], c[2], c[3], c[4], c[5], r.v[0], r.v[1], r.v[2], r.v[3]);
  }
  const unsigned long long seeds[] = {SEEDS};
  const unsigned streams[] = {STREAMS};
  const unsigned long long indices[] = {INDICES};
  for (unsigned long long seed : seeds)
    for (unsigned stream : streams)
      for (unsigned draw = 0; draw < 2; ++draw) {
        const Rng rng(seed, stream);
        for (unsigned long long i : indices)
          std::printf("rng %llu %u %u %llu %u %u\n", seed, stream, draw, i, fbits(rng.uniform(i, draw)), fbits(rng.gaussian(i, draw)));
      }
#ifdef WITH_ENGINE
  detail::KernelFunctions k;
  detail::register_noise(k);
  const int w = 13, h = 7, c = 3;  // odd sizes: groups of four straddle rows
  Image in = Image::allocate(w, h, c);
  for (int i = 0; i < w * h * c; ++i) in.data()[i] = static_cast<float>((i * 37) % 101) / 100.0f;
  const struct { const char* kind; const char* param; double value; unsigned long long seed; } runs[] = {
      {"gaussian_noise", "sigma", 0.2, 7}, {"gaussian_noise", "sigma", 0.05, 0x0123456789ABCDEFull},
      {"uniform_noise", "amplitude", 0.3, 7}, {"uniform_noise", "amplitude", 1.0, 99}};
  for (auto& run : runs) {
    Image out = Image::allocate(w, h, c);
    k[run.kind](in, out, Params{{run.param, run.value}}, run.seed, 2);
    std::printf("engine %s %.17g %llu", run.kind, run.value, run.seed);
    for (int i = 0; i < w * h * c; ++i) std::printf(" %u", fbits(out.data()[i]));
    std::printf("\n");
  }
#endif
  return 0;
}
"""


def engine_sources():
    """noise.cpp and the engine's support sources (those of native/sources.json that register no kernels
    and are neither the registry nor the metrics), so that the comparison links without building every kernel."""
    with open(os.path.join(NATIVE, "sources.json")) as fh:
        sources = json.load(fh)["sources"]
    out = []
    for rel in sources:
        path = os.path.join(NATIVE, rel)
        with open(path) as fh:
            text = fh.read()
        support = "void register_" not in text and not rel.endswith("registry.cpp") and not os.path.basename(rel).startswith("metrics")
        if rel.endswith("noise.cpp") or support:
            out.append(path)
    return out


def f32(bits):
    return np.array([bits], dtype=np.uint32).view(np.float32)[0]


class KnownAnswers(unittest.TestCase):
    def test_random123_vectors(self):
        cases = [
            ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
            ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
            ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
             (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
        ]
        for ctr, key, want in cases:
            self.assertEqual(tuple(int(w) for w in N.philox4x32_10(ctr, key)), want)

    def test_grouping_and_unit(self):
        seed, stream = 1234, 0x0100
        block = [int(w) for w in N.philox4x32_10((1, 0, stream, 0), N.seed_key(seed))]
        u = N.uniform(seed, stream, 8)
        for k in range(4):  # elements 4..7 are the words of group 1
            self.assertEqual(u[4 + k], np.float32(((block[k] >> 8) + 0.5) / 2**24))
        self.assertTrue(np.all((u > 0) & (u < 1)))

    def test_distributions(self):
        g = N.gaussian(5, 0x0200, 200_000)
        u = N.uniform(5, 0x0100, 200_000)
        self.assertAlmostEqual(float(g.mean()), 0.0, delta=0.01)
        self.assertAlmostEqual(float(g.std()), 1.0, delta=0.01)
        self.assertAlmostEqual(float(u.mean()), 0.5, delta=0.005)
        self.assertEqual(g.dtype, np.float32)

    def test_series_functions_close_to_libm(self):
        u = np.linspace(2**-25, 1.0, 50_001, dtype=np.float32)
        self.assertLess(np.abs(N.log_unit(u) - np.log(u.astype(np.float64))).max(), 2e-6)
        t = np.linspace(0.0, 1.0, 50_001, dtype=np.float32)
        s, c = N.sincos_turns(t)
        self.assertLess(np.abs(s - np.sin(2 * np.pi * t.astype(np.float64))).max(), 5e-7)
        self.assertLess(np.abs(c - np.cos(2 * np.pi * t.astype(np.float64))).max(), 5e-7)

    def test_apply_noise(self):
        img = np.random.default_rng(0).random((3, 9, 11), dtype=np.float32)
        self.assertTrue(np.array_equal(N.apply_noise("gaussian_noise", img, 3, sigma=0.0), img))
        out = N.apply_noise("gaussian_noise", img, 3, sigma=0.5)
        self.assertEqual(out.dtype, np.float32)
        self.assertTrue(np.all((out >= 0) & (out <= 1)))
        # Each channel has its own stream: the same pixel gets different noise in each channel.
        flat = np.full((3, 4, 4), 0.5, dtype=np.float32)
        noisy = N.apply_noise("uniform_noise", flat, 3, amplitude=0.1)
        self.assertFalse(np.array_equal(noisy[0], noisy[1]))
        self.assertTrue(np.array_equal(N.apply_noise("uniform_noise", flat, 3, amplitude=0.1), noisy))
        with self.assertRaises(ValueError):
            N.apply_noise("pink_noise", img, 0, sigma=1)
        with self.assertRaises(ValueError):
            N.apply_noise("gaussian_noise", img, 0, amplitude=1)


@unittest.skipIf(shutil.which("g++") is None, "g++ not found: cannot compile the engine's header to compare")
class AgainstTheEngine(unittest.TestCase):
    """Compiles random.hpp (and the engine's noise kernels) and compares every bit."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        src = os.path.join(cls.tmp.name, "rng_dump.cpp")
        with open(src, "w") as fh:
            fh.write(CPP.replace("{SEEDS}", "{" + ", ".join(f"{s}ull" for s in SEEDS) + "}")
                     .replace("{STREAMS}", "{" + ", ".join(map(str, STREAMS)) + "}")
                     .replace("{INDICES}", "{" + ", ".join(f"{i}ull" for i in INDICES) + "}"))
        exe = os.path.join(cls.tmp.name, "rng_dump")
        # -ffp-contract=off: no fused multiply-add, as the engine's own build (and CUDA with --fmad=false).
        base = ["g++", "-std=c++17", "-O2", "-ffp-contract=off", "-I", os.path.join(NATIVE, "include"), src]
        engine = engine_sources()
        build = subprocess.run(base + ["-DWITH_ENGINE", *engine, "-o", exe, "-pthread"], capture_output=True, text=True)
        cls.engine_error = None
        if build.returncode != 0:
            # The header alone still has to agree; the kernel comparison then fails with the compiler's message.
            cls.engine_error = build.stderr[-3000:]
            build = subprocess.run(base + ["-o", exe], capture_output=True, text=True)
            if build.returncode != 0:
                raise AssertionError("cannot compile random.hpp:\n" + build.stderr[-3000:])
        out = subprocess.run([exe], capture_output=True, text=True, check=True).stdout
        cls.lines = [line.split() for line in out.splitlines()]

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_header_has_the_grouped_scheme(self):
        with open(os.path.join(NATIVE, "include", "medpsim", "random.hpp")) as fh:
            text = fh.read()
        self.assertIn("group = element index / 4", text, "random.hpp does not have the grouped (four elements per block) scheme")

    def test_philox_blocks(self):
        rows = [r for r in self.lines if r[0] == "philox"]
        self.assertEqual(len(rows), 4)
        for r in rows:
            v = [int(x) for x in r[1:]]
            got = [int(w) for w in N.philox4x32_10(v[0:4], v[4:6])]
            self.assertEqual(got, v[6:10])

    def test_uniform_and_gaussian_bits(self):
        rows = [r for r in self.lines if r[0] == "rng"]
        self.assertEqual(len(rows), len(SEEDS) * len(STREAMS) * 2 * len(INDICES))
        by_key = {}
        for _, seed, stream, draw, i, ub, gb in rows:
            by_key.setdefault((int(seed), int(stream), int(draw)), []).append((int(i), int(ub), int(gb)))
        for (seed, stream, draw), vals in by_key.items():
            idx = np.array([v[0] for v in vals], dtype=np.uint64)
            u = N.uniform_at(seed, stream, idx, draw).view(np.uint32)
            g = N.gaussian_at(seed, stream, idx, draw)
            want_u = np.array([v[1] for v in vals], dtype=np.uint32)
            want_g = np.array([v[2] for v in vals], dtype=np.uint32).view(np.float32)
            self.assertTrue(np.array_equal(u, want_u), f"uniform bits differ for seed {seed} stream {stream} draw {draw}")
            self.assertLessEqual(float(np.abs(g - want_g).max()), 1e-6, f"gaussian differs (seed {seed}, stream {stream})")
            # The header's ln/sin/cos use + - * / and sqrt only, so the bits agree too.
            self.assertTrue(np.array_equal(g.view(np.uint32), want_g.view(np.uint32)),
                            f"gaussian bits differ for seed {seed} stream {stream} draw {draw}")
        # The sequential helpers give the same values as the indexed ones.
        self.assertTrue(np.array_equal(N.gaussian(42, 0x0200, 40), N.gaussian_at(42, 0x0200, np.arange(40))))

    def test_engine_kernels(self):
        if self.engine_error:
            self.fail("cannot compile native/src/noise.cpp for the comparison:\n" + self.engine_error)
        rows = [r for r in self.lines if r[0] == "engine"]
        self.assertEqual(len(rows), 4)
        w, h, c = 13, 7, 3
        img = (np.arange(w * h * c) * 37 % 101).astype(np.float32) / np.float32(100.0)
        img = img.reshape(c, h, w)
        for r in rows:
            kind, value, seed = r[1], float(r[2]), int(r[3])
            want = np.array([int(x) for x in r[4:]], dtype=np.uint32).view(np.float32).reshape(c, h, w)
            param = N.KINDS[kind][0]
            got = N.apply_noise(kind, img, seed, **{param: value})
            self.assertLessEqual(float(np.abs(got - want).max()), 1e-6, f"{kind} {value} seed {seed}")
            self.assertTrue(np.array_equal(got, want), f"{kind} {value} seed {seed}: not bit-identical")


if __name__ == "__main__":
    unittest.main()
