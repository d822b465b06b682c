// Generated from src/distortions/catalog.ts by `npm run gen:catalog`: do not edit.
#pragma once

#include <vector>

namespace medpsim::catalog {

struct Param {
  const char* name;
  double min;
  double max;
  double default_value;
  bool integer;
  std::vector<double> allowed;  // empty: any value in [min, max]
};

struct Kind {
  const char* name;
  const char* family;
  bool random;       // uses the seed
  bool needs_color;  // needs 3 channels (greyscale images are refused)
  std::vector<Param> params;
};

inline const std::vector<Kind>& kinds() {
  static const std::vector<Kind> all = {
    {"lightness_shift", "photometric", false, false,
      {{"delta", -1.0, 1.0, 0.1, false, {}}}},
    {"color_shift", "photometric", false, true,
      {{"red", -1.0, 1.0, 0.1, false, {}},
       {"green", -1.0, 1.0, 0.0, false, {}},
       {"blue", -1.0, 1.0, -0.1, false, {}}}},
    {"contrast", "photometric", false, false,
      {{"factor", 0.0, 4.0, 0.7, false, {}}}},
    {"saturation", "photometric", false, true,
      {{"factor", 0.0, 4.0, 0.5, false, {}}}},
    {"uniform_noise", "noise", true, false,
      {{"amplitude", 0.0, 1.0, 0.1, false, {}}}},
    {"gaussian_noise", "noise", true, false,
      {{"sigma", 0.0, 1.0, 0.05, false, {}}}},
    {"pink_noise", "noise", true, false,
      {{"sigma", 0.0, 1.0, 0.05, false, {}}}},
    {"blue_noise", "noise", true, false,
      {{"sigma", 0.0, 1.0, 0.05, false, {}}}},
    {"colored_noise", "noise", true, false,
      {{"sigma", 0.0, 1.0, 0.05, false, {}},
       {"beta", -2.0, 2.0, 0.0, false, {}}}},
    {"checkerboard", "noise", true, false,
      {{"amplitude", 0.0, 0.5, 0.05, false, {}},
       {"period", 2.0, 32.0, 2.0, true, {}}}},
    {"gaussian_blur", "blur", false, false,
      {{"sigma", 0.0, 50.0, 1.5, false, {}}}},
    {"bilateral", "blur", false, false,
      {{"sigma_spatial", 0.0, 20.0, 3.0, false, {}},
       {"sigma_range", 0.0, 1.0, 0.1, false, {}}}},
    {"shift", "spatial", false, false,
      {{"dx", -4096.0, 4096.0, 4.0, false, {}},
       {"dy", -4096.0, 4096.0, 2.0, false, {}}}},
    {"affine", "spatial", false, false,
      {{"rotation", -180.0, 180.0, 5.0, false, {}},
       {"scale", 0.1, 10.0, 1.05, false, {}},
       {"shear", -60.0, 60.0, 3.0, false, {}},
       {"tx", -4096.0, 4096.0, 0.0, false, {}},
       {"ty", -4096.0, 4096.0, 0.0, false, {}}}},
    {"homography", "spatial", true, false,
      {{"jitter", 0.0, 0.5, 0.03, false, {}}}},
    {"linear_warp", "spatial", true, false,
      {{"grid", 2.0, 32.0, 4.0, true, {}},
       {"magnitude", 0.0, 0.25, 0.02, false, {}}}},
    {"cubic_warp", "spatial", true, false,
      {{"grid", 2.0, 32.0, 4.0, true, {}},
       {"magnitude", 0.0, 0.25, 0.02, false, {}}}},
    {"ghosting", "spatial", false, false,
      {{"alpha", 0.0, 1.0, 0.2, false, {}},
       {"dx", -4096.0, 4096.0, 8.0, false, {}},
       {"dy", -4096.0, 4096.0, 0.0, false, {}}}},
    {"chromatic_aberration", "spatial", false, true,
      {{"shift", 0.0, 20.0, 2.0, false, {}}}},
    {"jpeg", "compression", false, false,
      {{"quality", 1.0, 100.0, 50.0, true, {}}}},
    {"quantum_noise", "xray", true, false,
      {{"dose", 0.01, 1.0, 0.25, false, {}},
       {"photons", 10.0, 10000000.0, 10000.0, false, {}},
       {"electronic_noise", 0.0, 1000.0, 2.0, false, {}},
       {"mtf_sigma", 0.0, 4.0, 0.8, false, {}},
       {"response", 0.0, 1.0, 0.0, true, {}},
       {"polarity", -1.0, 1.0, 1.0, true, {-1.0, 1.0}},
       {"attenuation_range", 0.5, 12.0, 4.0, false, {}}}},
    {"motion_blur", "xray", false, false,
      {{"length", 0.0, 200.0, 7.0, false, {}},
       {"angle", 0.0, 180.0, 0.0, false, {}}}},
    {"grid_lines", "xray", false, false,
      {{"amplitude", 0.0, 0.5, 0.05, false, {}},
       {"period", 2.0, 64.0, 4.0, true, {}},
       {"angle", 0.0, 90.0, 90.0, true, {0.0, 90.0}},
       {"response", 0.0, 1.0, 0.0, true, {}},
       {"polarity", -1.0, 1.0, 1.0, true, {-1.0, 1.0}},
       {"attenuation_range", 0.5, 12.0, 4.0, false, {}}}},
    {"dead_pixels", "xray", true, false,
      {{"fraction", 0.0, 0.1, 0.001, false, {}},
       {"lines", 0.0, 64.0, 1.0, true, {}}}},
    {"resolution_loss", "xray", false, false,
      {{"factor", 1.0, 16.0, 2.0, false, {}}}},
    {"exposure", "xray", true, false,
      {{"exposure", 0.05, 20.0, 0.5, false, {}},
       {"saturation", 1.0, 100.0, 1.0, false, {}},
       {"compensation", 0.0, 1.0, 1.0, false, {}},
       {"photons", 10.0, 10000000.0, 10000.0, false, {}},
       {"electronic_noise", 0.0, 1000.0, 2.0, false, {}},
       {"mtf_sigma", 0.0, 4.0, 0.8, false, {}},
       {"response", 0.0, 1.0, 0.0, true, {}},
       {"polarity", -1.0, 1.0, 1.0, true, {-1.0, 1.0}},
       {"attenuation_range", 0.5, 12.0, 4.0, false, {}}}},
    {"windowing", "xray", false, false,
      {{"center_shift", -0.5, 0.5, 0.05, false, {}},
       {"width_scale", 0.1, 4.0, 0.8, false, {}}}},
    {"scatter", "xray", false, false,
      {{"spr", 0.0, 10.0, 0.5, false, {}},
       {"sigma", 0.0, 500.0, 40.0, false, {}},
       {"response", 0.0, 1.0, 0.0, true, {}},
       {"polarity", -1.0, 1.0, 1.0, true, {-1.0, 1.0}},
       {"attenuation_range", 0.5, 12.0, 4.0, false, {}}}},
  };
  return all;
}

}  // namespace medpsim::catalog
