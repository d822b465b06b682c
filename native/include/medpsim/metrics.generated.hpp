// Generated from src/metrics/catalog.ts by `npm run gen:catalog`: do not edit.
#pragma once

#include <vector>

namespace medpsim::catalog {

struct MetricParam {
  const char* name;
  double min;
  double max;
  double default_value;
  bool integer;
};

struct Metric {
  const char* name;
  const char* family;
  const char* direction;  // "distance" or "similarity"
  const char* channels;   // "pooled", "per_channel" or "luminance"
  std::vector<MetricParam> params;
};

inline const std::vector<Metric>& metrics() {
  static const std::vector<Metric> all = {
    {"mse", "pixel", "distance", "pooled", {}},
    {"psnr", "pixel", "similarity", "pooled", {}},
    {"ssim", "structural", "similarity", "per_channel", {}},
    {"ms_ssim", "structural", "similarity", "per_channel", {{"scales", 1.0, 5.0, 5.0, true}}},
    {"gmsd", "gradient", "distance", "luminance", {}},
    {"haarpsi", "wavelet", "similarity", "luminance", {}},
    {"vif", "information", "similarity", "luminance", {}},
    {"fsim", "phase", "similarity", "luminance", {}},
  };
  return all;
}

}  // namespace medpsim::catalog
