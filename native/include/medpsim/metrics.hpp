// Full-reference image metrics. Names, parameters and colour handling are exactly those of
// src/metrics/catalog.ts (through metrics.generated.hpp); docs/metrics.md states every pinned setting.
// Each metric compares two planar float images of the same shape with samples in [0, data_range]
// (data_range, the peak signal L, in the same units: 1 for full-scale 8- or 16-bit data) and is a pure
// function of its inputs: the thread count never changes the result.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "medpsim/image.hpp"
#include "medpsim/kernels.hpp"


namespace medpsim {

// How a metric treats 3-channel pairs (1-channel pairs are used as they are):
//   pooled:      the function receives the images as they are (MSE and PSNR pool every sample);
//   per_channel: the function runs on each channel; values and maps are averaged over the channels;
//   luminance:   both images are first converted to BT.601 luma 0.299 R + 0.587 G + 0.114 B.
enum class ChannelRule { pooled, per_channel, luminance };

struct MetricOptions {
  double data_range = 1.0;  // L, in sample units; in (0, 1]
  bool want_map = false;    // also return the per-pixel map
  int threads = 0;          // < 1: one per hardware thread (CPU)
  bool cuda = false;        // run on the current CUDA device; refused when the build has no CUDA or the metric has no
                            // CUDA implementation
};

struct MetricResult {
  double value = 0.0;
  Image map;  // 1 channel at the input's size, when asked for
};

// a and b: 1-channel images of the same size (the dispatch splits or converts colour); map, when not
// null, is an allocated 1-channel image of that size to fill. Throws std::invalid_argument for an
// image too small for the metric (message: "<name>: images are WxH; needs at least ...").
using MetricFn = double (*)(const Image& a, const Image& b, const Params& params, double data_range, Image* map,
                            int threads);

struct MetricInfo {
  std::string name;
  std::string family;
  std::string direction;  // "distance" or "similarity"
  ChannelRule channels;
  std::vector<ParamSpec> params;
  MetricFn run;  // unchecked; use compute()

  // Checks the parameters (each may be left out for its default), the shapes, the data range and that no
  // sample exceeds it, converts colour by `channels`, then runs `run` or, with options.cuda, cuda_metric
  // (medpsim/cuda.hpp) on each image the colour rule gives. Throws std::invalid_argument (also when the CUDA
  // backend is asked for but not available), std::runtime_error for a CUDA error.
  MetricResult compute(const Image& a, const Image& b, const Params& params, const MetricOptions& options) const;
};

// nullptr when the name is unknown.
const MetricInfo* find_metric(const std::string& name);
// Every metric, in catalog order.
const std::vector<MetricInfo>& all_metrics();
// find_metric + compute; throws std::invalid_argument for an unknown name.
MetricResult compute_metric(const std::string& name, const Image& a, const Image& b, const Params& params,
                            const MetricOptions& options);

namespace detail {

// Throws "<metric>: images are WxH; needs at least <min_w> x <min_h> (<rule>)" when either side is too small.
void require_min_side(const std::string& metric, int width, int height, int min_side, const std::string& rule);
void require_min_side(const std::string& metric, const Image& image, int min_side, const std::string& rule);

// BT.601 luma of a 3-channel image (a copy of a 1-channel one).
Image luminance(const Image& image, int threads);

// Fills `map` (width x height) from a smaller `coarse` map by repeating each coarse pixel factor x factor
// times (pixels beyond the coarse map's last row or column repeat that row or column).
void repeat_to(const Image& coarse, int factor, Image& map);

// Per-family registration of metric functions by name (parameters and rules come from the catalog).
using MetricFunctions = std::map<std::string, MetricFn>;
void register_structural_metrics(MetricFunctions& metrics);  // mse, psnr, ssim, ms_ssim, gmsd
void register_hvs_metrics(MetricFunctions& metrics);         // haarpsi, vif
void register_phase_metrics(MetricFunctions& metrics);       // fsim

}  // namespace detail
}  // namespace medpsim
