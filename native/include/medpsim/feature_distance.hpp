// The LPIPS-style distance between two images' deep features (the deep metrics of src/metrics/deep.ts; the
// inference worker calls it through the addon on its own thread, after the model run).
#pragma once

#include <cstddef>
#include <vector>

namespace medpsim {

// One layer's feature maps of the two images: channels x pixels floats each, channel-major (CHW, row-major
// within a channel), and optional per-channel weights (LPIPS's "lin" layers).
struct FeatureLayer {
  const float* a;
  const float* b;
  const float* weights;  // `channels` values; nullptr: every channel weighs 1
  size_t channels;
  size_t pixels;
};

// Per layer: each pixel's channel vector divided by its L2 norm + 1e-10 (LPIPS's normalize_tensor), the
// squared difference weighted per channel and summed over channels, averaged over the pixels; the layers'
// values summed. Everything after the float inputs is in double, so the result matches the same formula
// in double (JavaScript numbers) to ~1e-15 relative. Single-threaded. Unchecked: the caller guarantees the
// sizes and channels, pixels >= 1.
double feature_distance(const std::vector<FeatureLayer>& layers);

}  // namespace medpsim
