// The kernel table and parameter validation.
#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>

#include "medpsim/catalog.generated.hpp"
#include "medpsim/kernels.hpp"

namespace medpsim {
namespace {

std::string range_text(const ParamSpec& spec) {
  std::ostringstream text;
  text << "[" << spec.min << ", " << spec.max << "]";
  if (spec.integer) text << " (integer)";
  if (!spec.allowed.empty()) {
    text << " (one of";
    for (double v : spec.allowed) text << " " << v;
    text << ")";
  }
  return text.str();
}

[[noreturn]] void fail(const KernelInfo& info, const std::string& message) {
  throw std::invalid_argument(info.kind + ": " + message);
}

// The catalog's kinds, in its order, each bound to its kernel function. A kind without a function, or a
// function without a kind, is a build mistake: the C++ tests fail on it before anything ships.
std::vector<KernelInfo> build_table() {
  detail::KernelFunctions functions;
  detail::register_photometric(functions);
  detail::register_noise(functions);
  detail::register_blur(functions);
  detail::register_spatial(functions);
  detail::register_compression(functions);
  detail::register_xray(functions);

  std::vector<KernelInfo> table;
  for (const catalog::Kind& kind : catalog::kinds()) {
    const auto found = functions.find(kind.name);
    if (found == functions.end()) throw std::logic_error(std::string("no CPU kernel for catalog kind ") + kind.name);
    std::vector<ParamSpec> params;
    for (const catalog::Param& p : kind.params) params.push_back({p.name, p.min, p.max, p.default_value, p.integer, p.allowed});
    table.push_back({kind.name, kind.family, params, kind.random, kind.needs_color, found->second});
    functions.erase(found);
  }
  if (!functions.empty()) throw std::logic_error("CPU kernel without a catalog kind: " + functions.begin()->first);
  return table;
}

}  // namespace

Params detail::checked_params(const std::string& owner, const std::vector<ParamSpec>& specs, const Params& given,
                              bool required) {
  const auto fail_with = [&](const std::string& message) { throw std::invalid_argument(owner + ": " + message); };
  for (const auto& entry : given) {
    bool known = false;
    for (const auto& spec : specs) known = known || spec.name == entry.first;
    if (!known) {
      std::string names;
      for (const auto& spec : specs) names += (names.empty() ? "" : ", ") + spec.name;
      fail_with("unknown parameter '" + entry.first + "' (parameters: " + (names.empty() ? "none" : names) + ")");
    }
  }
  Params checked;
  for (const auto& spec : specs) {
    const auto found = given.find(spec.name);
    if (found == given.end()) {
      if (required) fail_with("missing parameter '" + spec.name + "' in " + range_text(spec));
      checked[spec.name] = spec.default_value;
      continue;
    }
    const double v = found->second;
    std::ostringstream got;
    got << v;
    if (!std::isfinite(v) || v < spec.min || v > spec.max || (spec.integer && v != std::floor(v)) ||
        (!spec.allowed.empty() && std::find(spec.allowed.begin(), spec.allowed.end(), v) == spec.allowed.end())) {
      fail_with("parameter '" + spec.name + "' = " + got.str() + " must be in " + range_text(spec));
    }
    checked[spec.name] = v;
  }
  return checked;
}

void KernelInfo::apply(const Image& in, Image& out, const Params& params, uint64_t seed, int threads) const {
  check(in, out, params);
  run(in, out, params, seed, threads);
}

void KernelInfo::check(const Image& in, Image& out, const Params& params) const {
  detail::checked_params(kind, this->params, params, true);
  if (in.empty()) fail(*this, "empty input image");
  if (needs_color && in.channels() != 3) {
    fail(*this, "needs a 3-channel image, got " + std::to_string(in.channels()) + " channel(s)");
  }
  if (out.empty()) {
    out = Image::allocate(in.width(), in.height(), in.channels());
  } else if (!out.same_shape(in)) {
    fail(*this, "output image shape differs from the input");
  }
  if (out.data() == in.data()) fail(*this, "output must not alias the input");
}

const std::vector<KernelInfo>& all_kernels() {
  static const std::vector<KernelInfo> table = build_table();
  return table;
}

const KernelInfo* find_kernel(const std::string& kind) {
  for (const auto& info : all_kernels()) {
    if (info.kind == kind) return &info;
  }
  return nullptr;
}

void apply(const std::string& kind, const Image& in, Image& out, const Params& params, uint64_t seed, int threads) {
  const KernelInfo* info = find_kernel(kind);
  if (!info) throw std::invalid_argument("unknown distortion kind '" + kind + "'");
  info->apply(in, out, params, seed, threads);
}

}  // namespace medpsim
