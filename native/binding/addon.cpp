// Node-API binding of the distortion engine (node-addon-api).
//
//   backends()                      -> { cpu: true, cuda: boolean, cudaDevices: number, cudaReason: string,
//                                        cudaKinds: string[] (kinds with a CUDA kernel in this build) }
//   kinds()                         -> [{ name, family, random, needsColor, params: [name, ...] }]
//   distort(items, steps, options)  -> Promise<Float32Array[]>
//     items:   [{ data: Float32Array (planar, [0, 1]), width, height, channels, seed: bigint }]
//     steps:   [{ kind: string, params: { name: number } }]   (applied in order to every item)
//     options: { threads?: number, backend?: 'cpu' | 'cuda' }
//   metrics()                       -> [{ name, family, direction, channels, params: [name, ...] }]
//   score(pairs, metrics, options)  -> Promise<{ values: Float64Array, errors: string[], maps: Float32Array[] }>
//     pairs:   [{ a: Float32Array, b: Float32Array (planar), width, height, channels, dataRange }]
//     metrics: [{ name: string, params: { name: number } }]   (each computed on every pair)
//     options: { threads?: number, maps?: boolean, backend?: 'cpu' | 'cuda' }
//     values[p * metrics.length + m] is metric m of pair p (NaN where it failed, errors[...] saying why,
//     "" where it did not); maps, when asked for, in the same order (empty where it failed).
//   planarFloat(samples: Uint8Array | Uint16Array (interleaved), width, height, channels)
//                                   -> Promise<Float32Array> (planar, samples / 255 or / 65535)
//   pngEncode(data, width, height, channels, bitDepth?)
//                                   -> Promise<Uint8Array> (a whole PNG, medpsim/png.hpp): of a Float32Array
//                                      (planar) rounded to levels of bitDepth 8 | 16, or of a Uint8Array /
//                                      Uint16Array of levels (interleaved)
//   featureDistance(layersA, layersB, shapes, weights)
//                                   -> number (synchronous): the LPIPS-style distance of two images' feature maps
//     layersA, layersB: [Float32Array (channels x pixels, channel-major)], one per layer
//     shapes:  [{ channels, pixels }]; weights: [Float32Array (channels) | null] (null: every channel weighs 1)
//
// Every argument is checked on the main thread and turned into plain C++ values; the input arrays are
// kept referenced (not copied) while a worker thread runs the kernels, and no JavaScript runs there.
// Any C++ exception becomes a rejected promise (or a thrown TypeError for malformed arguments): nothing a
// caller passes can take the process down.
#include <napi.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "medpsim/backends.hpp"
#include "medpsim/feature_distance.hpp"
#include "medpsim/kernels.hpp"
#include "medpsim/metrics.hpp"
#include "medpsim/pixels.hpp"
#include "medpsim/png.hpp"

namespace {

using Step = medpsim::ChainStep;
using Item = medpsim::ChainInput;

[[noreturn]] void type_error(Napi::Env env, const std::string& message) {
  throw Napi::TypeError::New(env, message);
}

int positive_int(Napi::Env env, const Napi::Value& value, const std::string& what) {
  if (!value.IsNumber()) type_error(env, what + " must be a number");
  double number = value.As<Napi::Number>().DoubleValue();
  if (!(number >= 1 && number <= 1 << 30) || number != static_cast<int>(number)) type_error(env, what + " must be a positive integer");
  return static_cast<int>(number);
}

int positive_int(Napi::Env env, const Napi::Object& object, const char* key, const std::string& where) {
  return positive_int(env, object.Get(key), where + "." + key);
}

// Hands `owner` (an Image or a byte vector) to JavaScript without a copy: an external ArrayBuffer over
// its data that frees it when collected; a copy where the runtime refuses external buffers (a V8 sandbox).
// V8 is told the bytes it holds this way, so that its collector runs as they pile up: unseen, dead images
// stayed out of the buffer pool until some later collection, and each call mapped fresh memory (on a VM,
// clearing a fresh 4 MiB costs milliseconds).
template <typename Owner>
Napi::ArrayBuffer hand_over(Napi::Env env, Owner&& owner, size_t bytes) {
  struct Held {
    Owner owner;
    int64_t bytes;
  };
  auto* held = new Held{std::move(owner), static_cast<int64_t>(bytes)};
  try {
    Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(
        env, held->owner.data(), bytes,
        [](Napi::Env env, void*, Held* done) {
          Napi::MemoryManagement::AdjustExternalMemory(env, -done->bytes);
          delete done;
        },
        held);
    Napi::MemoryManagement::AdjustExternalMemory(env, held->bytes);
    return buffer;
  } catch (const Napi::Error&) {
    Napi::ArrayBuffer copy = Napi::ArrayBuffer::New(env, bytes);
    std::memcpy(copy.Data(), held->owner.data(), bytes);
    delete held;
    return copy;
  }
}

Napi::Float32Array to_float32_array(Napi::Env env, medpsim::Image&& image) {
  const size_t count = image.size();
  if (!image.owns()) {  // a view of someone else's memory cannot be handed over
    Napi::Float32Array array = Napi::Float32Array::New(env, count);
    std::copy(image.data(), image.data() + count, array.Data());
    return array;
  }
  return Napi::Float32Array::New(env, count, hand_over(env, std::move(image), count * sizeof(float)), 0);
}

uint64_t seed_of(Napi::Env env, Napi::Value value, const std::string& where) {
  if (value.IsBigInt()) {
    bool lossless = false;
    uint64_t seed = value.As<Napi::BigInt>().Uint64Value(&lossless);
    if (!lossless) type_error(env, where + ".seed must fit in 64 bits and not be negative");
    return seed;
  }
  if (value.IsNumber()) {
    double number = value.As<Napi::Number>().DoubleValue();
    if (!(number >= 0 && number <= 9007199254740991.0) || number != static_cast<double>(static_cast<uint64_t>(number))) {
      type_error(env, where + ".seed must be a non-negative integer");
    }
    return static_cast<uint64_t>(number);
  }
  type_error(env, where + ".seed must be a bigint or a number");
}

medpsim::Params parse_params(Napi::Env env, Napi::Value given, const std::string& where) {
  if (!given.IsObject()) type_error(env, where + " must be an object");
  medpsim::Params params;
  Napi::Object object = given.As<Napi::Object>();
  Napi::Array names = object.GetPropertyNames();
  for (uint32_t k = 0; k < names.Length(); ++k) {
    std::string name = names.Get(k).As<Napi::String>().Utf8Value();
    Napi::Value number = object.Get(name);
    if (!number.IsNumber()) type_error(env, where + "." + name + " must be a number");
    params[name] = number.As<Napi::Number>().DoubleValue();  // ranges are checked by the engine
  }
  return params;
}

const float* float_samples(Napi::Env env, Napi::Value value, size_t expected, const std::string& where,
                           std::vector<Napi::ObjectReference>& keepAlive) {
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    type_error(env, where + " must be a Float32Array");
  }
  Napi::Float32Array samples = value.As<Napi::Float32Array>();
  if (samples.ElementLength() != expected) {
    type_error(env, where + " holds " + std::to_string(samples.ElementLength()) + " samples, but width x height x channels is " +
                        std::to_string(expected));
  }
  keepAlive.push_back(Napi::Persistent(samples.As<Napi::Object>()));
  return samples.Data();
}

std::vector<Step> parse_steps(Napi::Env env, Napi::Value value) {
  if (!value.IsArray()) type_error(env, "steps must be an array");
  Napi::Array array = value.As<Napi::Array>();
  if (array.Length() == 0) type_error(env, "steps must not be empty");
  std::vector<Step> steps;
  for (uint32_t i = 0; i < array.Length(); ++i) {
    const std::string where = "steps[" + std::to_string(i) + "]";
    Napi::Value entry = array.Get(i);
    if (!entry.IsObject()) type_error(env, where + " must be an object");
    Napi::Object step = entry.As<Napi::Object>();
    Napi::Value kind = step.Get("kind");
    if (!kind.IsString()) type_error(env, where + ".kind must be a string");
    const medpsim::KernelInfo* kernel = medpsim::find_kernel(kind.As<Napi::String>().Utf8Value());
    if (!kernel) type_error(env, where + ".kind: unknown distortion kind \"" + kind.As<Napi::String>().Utf8Value() + "\"");
    medpsim::Params params = parse_params(env, step.Get("params"), where + ".params");
    steps.push_back({kernel, std::move(params)});
  }
  return steps;
}

class DistortWorker : public Napi::AsyncWorker {
 public:
  DistortWorker(Napi::Env env, std::vector<Item> items, std::vector<Step> steps, int threads, medpsim::Backend backend,
                std::vector<Napi::ObjectReference> keepAlive, std::vector<Napi::ObjectReference> outs)
      : Napi::AsyncWorker(env),
        deferred_(Napi::Promise::Deferred::New(env)),
        items_(std::move(items)),
        steps_(std::move(steps)),
        threads_(threads),
        backend_(backend),
        keepAlive_(std::move(keepAlive)),
        outs_(std::move(outs)) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    try {
      outputs_ = medpsim::run_chain(backend_, steps_, items_, threads_);
    } catch (const std::exception& error) {
      SetError(error.what());
    } catch (...) {
      SetError("unknown error in the distortion engine");
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::Array results = Napi::Array::New(env, outputs_.size());
    for (size_t i = 0; i < outputs_.size(); ++i) {
      results.Set(static_cast<uint32_t>(i), outs_[i].IsEmpty() ? to_float32_array(env, std::move(outputs_[i])) : outs_[i].Value());
    }
    deferred_.Resolve(results);
  }

  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::vector<Item> items_;
  std::vector<Step> steps_;
  int threads_;
  medpsim::Backend backend_;
  std::vector<Napi::ObjectReference> keepAlive_;
  std::vector<Napi::ObjectReference> outs_;
  std::vector<medpsim::Image> outputs_;
};

Napi::Value Distort(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsArray()) type_error(env, "distort(items, steps, options?): items must be an array");
  std::vector<Step> steps = parse_steps(env, info[1]);

  int threads = 0;
  medpsim::Backend backend = medpsim::Backend::Cpu;
  if (info.Length() > 2 && !info[2].IsUndefined()) {
    if (!info[2].IsObject()) type_error(env, "options must be an object");
    Napi::Object options = info[2].As<Napi::Object>();
    Napi::Value threadsValue = options.Get("threads");
    if (!threadsValue.IsUndefined()) threads = positive_int(env, options, "threads", "options");
    Napi::Value backendValue = options.Get("backend");
    if (!backendValue.IsUndefined()) {
      std::string name = backendValue.IsString() ? backendValue.As<Napi::String>().Utf8Value() : "";
      if (name == "cpu") backend = medpsim::Backend::Cpu;
      else if (name == "cuda") backend = medpsim::Backend::Cuda;
      else type_error(env, "options.backend must be \"cpu\" or \"cuda\"");
    }
  }
  if (backend == medpsim::Backend::Cuda && !medpsim::cuda_available()) {
    type_error(env, "the CUDA backend is not available: " + medpsim::cuda_reason());
  }

  Napi::Array array = info[0].As<Napi::Array>();
  std::vector<Item> items;
  std::vector<Napi::ObjectReference> keepAlive;
  std::vector<Napi::ObjectReference> outs;  // each item's `out` array, empty where it has none
  for (uint32_t i = 0; i < array.Length(); ++i) {
    const std::string where = "items[" + std::to_string(i) + "]";
    Napi::Value entry = array.Get(i);
    if (!entry.IsObject()) type_error(env, where + " must be an object");
    Napi::Object object = entry.As<Napi::Object>();
    Napi::Value data = object.Get("data");
    if (!data.IsTypedArray() || data.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
      type_error(env, where + ".data must be a Float32Array");
    }
    Napi::Float32Array samples = data.As<Napi::Float32Array>();
    Item item{samples.Data(), positive_int(env, object, "width", where), positive_int(env, object, "height", where),
              positive_int(env, object, "channels", where), seed_of(env, object.Get("seed"), where)};
    if (item.channels != 1 && item.channels != 3) type_error(env, where + ".channels must be 1 or 3");
    const uint64_t expected = static_cast<uint64_t>(item.width) * item.height * item.channels;
    if (samples.ElementLength() != expected) {
      type_error(env, where + ".data holds " + std::to_string(samples.ElementLength()) + " samples, but width x height x channels is " +
                          std::to_string(expected));
    }
    keepAlive.push_back(Napi::Persistent(samples.As<Napi::Object>()));
    Napi::Value out = object.Get("out");
    if (!out.IsUndefined()) {
      item.output = const_cast<float*>(float_samples(env, out, expected, where + ".out", keepAlive));
      outs.push_back(Napi::Persistent(out.As<Napi::Object>()));
    } else {
      outs.emplace_back();
    }
    items.push_back(item);
  }
  // A result written over an input (or over another result) before that is read would corrupt the batch.
  const auto bytes = [](const Item& item) { return static_cast<size_t>(item.width) * item.height * item.channels * sizeof(float); };
  const auto overlap = [](const void* a, size_t na, const void* b, size_t nb) {
    const auto* pa = static_cast<const char*>(a);
    const auto* pb = static_cast<const char*>(b);
    return pa < pb + nb && pb < pa + na;
  };
  for (size_t i = 0; i < items.size(); ++i) {
    if (!items[i].output) continue;
    for (size_t j = 0; j < items.size(); ++j) {
      const std::string which = "items[" + std::to_string(i) + "].out";
      if (overlap(items[i].output, bytes(items[i]), items[j].data, bytes(items[j]))) {
        type_error(env, which + " shares memory with items[" + std::to_string(j) + "].data");
      }
      if (j != i && items[j].output && overlap(items[i].output, bytes(items[i]), items[j].output, bytes(items[j]))) {
        type_error(env, which + " shares memory with items[" + std::to_string(j) + "].out");
      }
    }
  }

  auto* worker = new DistortWorker(env, std::move(items), std::move(steps), threads, backend, std::move(keepAlive), std::move(outs));
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

struct Pair {
  const float* a;
  const float* b;
  int width, height, channels;
  double data_range;
};

struct MetricCall {
  const medpsim::MetricInfo* metric;
  medpsim::Params params;
};

class ScoreWorker : public Napi::AsyncWorker {
 public:
  ScoreWorker(Napi::Env env, std::vector<Pair> pairs, std::vector<MetricCall> metrics, medpsim::MetricOptions options,
              std::vector<Napi::ObjectReference> keepAlive)
      : Napi::AsyncWorker(env),
        deferred_(Napi::Promise::Deferred::New(env)),
        pairs_(std::move(pairs)),
        metrics_(std::move(metrics)),
        options_(options),
        keepAlive_(std::move(keepAlive)) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

  // A failing pair or metric records its error and the rest go on (a job's per-item failures).
  void Execute() override {
    for (const Pair& pair : pairs_) {
      const medpsim::Image a = medpsim::Image::view(const_cast<float*>(pair.a), pair.width, pair.height, pair.channels);
      const medpsim::Image b = medpsim::Image::view(const_cast<float*>(pair.b), pair.width, pair.height, pair.channels);
      medpsim::MetricOptions options = options_;
      options.data_range = pair.data_range;
      for (const MetricCall& call : metrics_) {
        try {
          medpsim::MetricResult result = call.metric->compute(a, b, call.params, options);
          values_.push_back(result.value);
          errors_.emplace_back();
          maps_.push_back(std::move(result.map));
        } catch (const std::exception& error) {
          values_.push_back(std::numeric_limits<double>::quiet_NaN());
          errors_.emplace_back(error.what());
          maps_.emplace_back();
        }
      }
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::Object result = Napi::Object::New(env);
    Napi::Float64Array values = Napi::Float64Array::New(env, values_.size());
    std::copy(values_.begin(), values_.end(), values.Data());
    Napi::Array errors = Napi::Array::New(env, errors_.size());
    for (size_t i = 0; i < errors_.size(); ++i) errors.Set(static_cast<uint32_t>(i), errors_[i]);
    Napi::Array maps = Napi::Array::New(env);
    if (options_.want_map) {
      for (size_t i = 0; i < maps_.size(); ++i) {
        maps.Set(static_cast<uint32_t>(i), maps_[i].empty() ? Napi::Float32Array::New(env, 0) : to_float32_array(env, std::move(maps_[i])));
      }
    }
    result.Set("values", values);
    result.Set("errors", errors);
    result.Set("maps", maps);
    deferred_.Resolve(result);
  }

  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::vector<Pair> pairs_;
  std::vector<MetricCall> metrics_;
  medpsim::MetricOptions options_;
  std::vector<Napi::ObjectReference> keepAlive_;
  std::vector<double> values_;
  std::vector<std::string> errors_;
  std::vector<medpsim::Image> maps_;
};

Napi::Value Score(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsArray() || !info[1].IsArray()) {
    type_error(env, "score(pairs, metrics, options?): pairs and metrics must be arrays");
  }
  std::vector<MetricCall> metrics;
  Napi::Array metricArray = info[1].As<Napi::Array>();
  for (uint32_t i = 0; i < metricArray.Length(); ++i) {
    const std::string where = "metrics[" + std::to_string(i) + "]";
    if (!metricArray.Get(i).IsObject()) type_error(env, where + " must be an object");
    Napi::Object entry = metricArray.Get(i).As<Napi::Object>();
    if (!entry.Get("name").IsString()) type_error(env, where + ".name must be a string");
    const std::string name = entry.Get("name").As<Napi::String>().Utf8Value();
    const medpsim::MetricInfo* metric = medpsim::find_metric(name);
    if (!metric) type_error(env, where + ".name: unknown metric \"" + name + "\"");
    Napi::Value params = entry.Get("params");
    metrics.push_back({metric, params.IsUndefined() ? medpsim::Params{} : parse_params(env, params, where + ".params")});
  }
  medpsim::MetricOptions options;
  if (info.Length() > 2 && !info[2].IsUndefined()) {
    if (!info[2].IsObject()) type_error(env, "options must be an object");
    Napi::Object object = info[2].As<Napi::Object>();
    if (!object.Get("threads").IsUndefined()) options.threads = positive_int(env, object, "threads", "options");
    options.want_map = object.Get("maps").ToBoolean().Value();
    Napi::Value backendValue = object.Get("backend");
    if (!backendValue.IsUndefined()) {
      const std::string name = backendValue.IsString() ? backendValue.As<Napi::String>().Utf8Value() : "";
      if (name != "cpu" && name != "cuda") type_error(env, "options.backend must be \"cpu\" or \"cuda\"");
      if (name == "cuda" && !medpsim::cuda_available()) type_error(env, "the CUDA backend is not available: " + medpsim::cuda_reason());
      options.cuda = name == "cuda";
    }
  }
  std::vector<Pair> pairs;
  std::vector<Napi::ObjectReference> keepAlive;
  Napi::Array pairArray = info[0].As<Napi::Array>();
  for (uint32_t i = 0; i < pairArray.Length(); ++i) {
    const std::string where = "pairs[" + std::to_string(i) + "]";
    if (!pairArray.Get(i).IsObject()) type_error(env, where + " must be an object");
    Napi::Object entry = pairArray.Get(i).As<Napi::Object>();
    Pair pair{nullptr, nullptr, positive_int(env, entry, "width", where), positive_int(env, entry, "height", where),
              positive_int(env, entry, "channels", where), 0.0};
    if (pair.channels != 1 && pair.channels != 3) type_error(env, where + ".channels must be 1 or 3");
    const size_t expected = static_cast<size_t>(pair.width) * pair.height * pair.channels;
    pair.a = float_samples(env, entry.Get("a"), expected, where + ".a", keepAlive);
    pair.b = float_samples(env, entry.Get("b"), expected, where + ".b", keepAlive);
    if (!entry.Get("dataRange").IsNumber()) type_error(env, where + ".dataRange must be a number");
    pair.data_range = entry.Get("dataRange").As<Napi::Number>().DoubleValue();
    pairs.push_back(pair);
  }
  auto* worker = new ScoreWorker(env, std::move(pairs), std::move(metrics), options, std::move(keepAlive));
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

Napi::Value Metrics(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const auto& metrics = medpsim::all_metrics();
  Napi::Array result = Napi::Array::New(env, metrics.size());
  for (size_t i = 0; i < metrics.size(); ++i) {
    const medpsim::MetricInfo& metric = metrics[i];
    Napi::Object entry = Napi::Object::New(env);
    entry.Set("name", metric.name);
    entry.Set("family", metric.family);
    entry.Set("direction", metric.direction);
    entry.Set("channels", metric.channels == medpsim::ChannelRule::pooled        ? "pooled"
                          : metric.channels == medpsim::ChannelRule::per_channel ? "per_channel"
                                                                                  : "luminance");
    Napi::Array params = Napi::Array::New(env, metric.params.size());
    for (size_t p = 0; p < metric.params.size(); ++p) params.Set(static_cast<uint32_t>(p), metric.params[p].name);
    entry.Set("params", params);
    result.Set(static_cast<uint32_t>(i), entry);
  }
  return result;
}

Napi::Value Kinds(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const auto& kernels = medpsim::all_kernels();
  Napi::Array result = Napi::Array::New(env, kernels.size());
  for (size_t i = 0; i < kernels.size(); ++i) {
    const medpsim::KernelInfo& kernel = kernels[i];
    Napi::Object entry = Napi::Object::New(env);
    entry.Set("name", kernel.kind);
    entry.Set("family", kernel.family);
    entry.Set("random", kernel.random);
    entry.Set("needsColor", kernel.needs_color);
    Napi::Array params = Napi::Array::New(env, kernel.params.size());
    for (size_t p = 0; p < kernel.params.size(); ++p) params.Set(static_cast<uint32_t>(p), kernel.params[p].name);
    entry.Set("params", params);
    result.Set(static_cast<uint32_t>(i), entry);
  }
  return result;
}

Napi::Value Backends(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object result = Napi::Object::New(env);
  result.Set("cpu", true);
  result.Set("cuda", medpsim::cuda_available());
  result.Set("cudaDevices", medpsim::cuda_device_count());
  result.Set("cudaReason", medpsim::cuda_reason());
  // The kinds that have a CUDA kernel in this build (the others are refused on the CUDA backend).
  const std::vector<std::string> cudaKinds = medpsim::cuda_kernel_kinds();
  Napi::Array kinds = Napi::Array::New(env, cudaKinds.size());
  for (size_t i = 0; i < cudaKinds.size(); ++i) kinds.Set(static_cast<uint32_t>(i), cudaKinds[i]);
  result.Set("cudaKinds", kinds);
  return result;
}

// A conversion run on a worker thread: `work` fills the result, `deliver` turns it into a JS value.
class TaskWorker : public Napi::AsyncWorker {
 public:
  TaskWorker(Napi::Env env, std::function<void()> work, std::function<Napi::Value(Napi::Env)> deliver, Napi::Object keepAlive)
      : Napi::AsyncWorker(env),
        deferred_(Napi::Promise::Deferred::New(env)),
        work_(std::move(work)),
        deliver_(std::move(deliver)),
        keepAlive_(Napi::Persistent(keepAlive)) {}

  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override {
    try {
      work_();
    } catch (const std::exception& error) {
      SetError(error.what());
    }
  }
  void OnOK() override { deferred_.Resolve(deliver_(Env())); }
  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::function<void()> work_;
  std::function<Napi::Value(Napi::Env)> deliver_;
  Napi::ObjectReference keepAlive_;  // the input array, read by work_
};

struct Shape {
  int width, height, channels;
  size_t samples() const { return static_cast<size_t>(width) * height * channels; }
};

Shape shape_of(const Napi::CallbackInfo& info, const std::string& name) {
  Napi::Env env = info.Env();
  const Shape shape{positive_int(env, info[1], name + ": width"), positive_int(env, info[2], name + ": height"),
                    positive_int(env, info[3], name + ": channels")};
  if (shape.channels != 1 && shape.channels != 3) type_error(env, name + ": channels must be 1 or 3");
  return shape;
}

Napi::Value PlanarFloat(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[0].IsTypedArray()) type_error(env, "planarFloat(samples, width, height, channels): samples must be a Uint8Array or Uint16Array");
  const Napi::TypedArray samples = info[0].As<Napi::TypedArray>();
  const napi_typedarray_type type = samples.TypedArrayType();
  if (type != napi_uint8_array && type != napi_uint16_array) type_error(env, "planarFloat: samples must be a Uint8Array or Uint16Array");
  const Shape shape = shape_of(info, "planarFloat");
  if (samples.ElementLength() != shape.samples()) type_error(env, "planarFloat: samples do not fill width x height x channels");
  const void* data = static_cast<const uint8_t*>(samples.ArrayBuffer().Data()) + samples.ByteOffset();
  auto out = std::make_shared<medpsim::Image>(medpsim::Image::allocate(shape.width, shape.height, shape.channels));
  auto* worker = new TaskWorker(
      env,
      [=] {
        const size_t pixels = static_cast<size_t>(shape.width) * shape.height;
        if (type == napi_uint16_array) medpsim::planar_from_interleaved(static_cast<const uint16_t*>(data), pixels, shape.channels, out->data());
        else medpsim::planar_from_interleaved(static_cast<const uint8_t*>(data), pixels, shape.channels, out->data());
      },
      [out](Napi::Env env) -> Napi::Value { return to_float32_array(env, std::move(*out)); }, samples);
  worker->Queue();
  return worker->Promise();
}

Napi::Value PngEncode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* usage = "pngEncode(data, width, height, channels, bitDepth): data must be a Float32Array, Uint8Array or Uint16Array";
  if (info.Length() < 4 || !info[0].IsTypedArray()) type_error(env, usage);
  const Napi::TypedArray data = info[0].As<Napi::TypedArray>();
  const napi_typedarray_type type = data.TypedArrayType();
  if (type != napi_float32_array && type != napi_uint8_array && type != napi_uint16_array) type_error(env, usage);
  const Shape shape = shape_of(info, "pngEncode");
  if (data.ElementLength() != shape.samples()) type_error(env, "pngEncode: data does not fill width x height x channels");
  // Floats are rounded to levels of the given depth; integer samples are levels already.
  const int bitDepth = type == napi_uint8_array ? 8 : type == napi_uint16_array ? 16 : info[4].IsNumber() ? info[4].As<Napi::Number>().Int32Value() : 0;
  if (bitDepth != 8 && bitDepth != 16) type_error(env, "pngEncode: bitDepth must be 8 or 16");
  const void* samples = static_cast<const uint8_t*>(data.ArrayBuffer().Data()) + data.ByteOffset();
  auto out = std::make_shared<medpsim::ByteBuffer>();
  auto* worker = new TaskWorker(
      env,
      [=] {
        std::vector<uint8_t> converted;  // float and 16-bit samples become PNG's bytes first; 8-bit levels are them
        if (type == napi_float32_array) converted = medpsim::png_levels(static_cast<const float*>(samples), shape.width, shape.height, shape.channels, bitDepth);
        if (type == napi_uint16_array) converted = medpsim::big_endian_levels(static_cast<const uint16_t*>(samples), shape.samples());
        const uint8_t* levels = converted.empty() ? static_cast<const uint8_t*>(samples) : converted.data();
        *out = medpsim::png_encode(levels, shape.width, shape.height, shape.channels, bitDepth);
      },
      [out](Napi::Env env) -> Napi::Value {
        const size_t bytes = out->size();
        return Napi::Uint8Array::New(env, bytes, hand_over(env, std::move(*out), bytes), 0);
      },
      data);
  worker->Queue();
  return worker->Promise();
}

// windowTo8bit(samples, center?, width?): the 8-bit rendition of 8- or 16-bit levels (medpsim/pixels.hpp
// windowed_levels) on a worker thread; without a window, the samples' own min..max.
Napi::Value WindowTo8bit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* usage = "windowTo8bit(samples, center?, width?): samples must be a Uint8Array or Uint16Array, center and width numbers or both absent";
  if (info.Length() < 1 || !info[0].IsTypedArray()) type_error(env, usage);
  const Napi::TypedArray data = info[0].As<Napi::TypedArray>();
  const napi_typedarray_type type = data.TypedArrayType();
  if (type != napi_uint8_array && type != napi_uint16_array) type_error(env, usage);
  const bool has_window = info.Length() >= 3 && !info[1].IsUndefined() && !info[1].IsNull();
  if (has_window && (!info[1].IsNumber() || !info[2].IsNumber())) type_error(env, usage);
  const medpsim::DisplayWindow window{has_window ? info[1].As<Napi::Number>().DoubleValue() : 0.0,
                                      has_window ? info[2].As<Napi::Number>().DoubleValue() : 1.0};
  if (has_window && !(window.width > 0.0 && std::isfinite(window.width) && std::isfinite(window.center))) {
    throw Napi::RangeError::New(env, "windowTo8bit: invalid display window: center " + std::to_string(window.center) + ", width " +
                                         std::to_string(window.width) + " (width must be > 0)");
  }
  const void* samples = static_cast<const uint8_t*>(data.ArrayBuffer().Data()) + data.ByteOffset();
  const size_t n = data.ElementLength();
  auto out = std::make_shared<std::vector<uint8_t>>();
  auto* worker = new TaskWorker(
      env,
      [=] {
        const medpsim::DisplayWindow* w = has_window ? &window : nullptr;
        *out = type == napi_uint16_array ? medpsim::windowed_levels(static_cast<const uint16_t*>(samples), n, w)
                                         : medpsim::windowed_levels(static_cast<const uint8_t*>(samples), n, w);
      },
      [out](Napi::Env env) -> Napi::Value {
        const size_t bytes = out->size();
        return Napi::Uint8Array::New(env, bytes, hand_over(env, std::move(*out), bytes), 0);
      },
      data);
  worker->Queue();
  return worker->Promise();
}

[[noreturn]] void range_error(Napi::Env env, const std::string& message) {
  throw Napi::RangeError::New(env, message);
}

const float* feature_plane(Napi::Env env, Napi::Value value, size_t expected, const std::string& where) {
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    type_error(env, where + " must be a Float32Array");
  }
  Napi::Float32Array samples = value.As<Napi::Float32Array>();
  if (samples.ElementLength() != expected) {
    range_error(env, where + " holds " + std::to_string(samples.ElementLength()) + " values, its shape says " + std::to_string(expected));
  }
  return samples.Data();
}

// Synchronous: a few milliseconds per pair of ResNet50 features at 224², called by the inference worker on
// its own thread (a promise would only add a hop to the libuv pool and back). The arrays are read in place.
Napi::Value FeatureDistance(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[0].IsArray() || !info[1].IsArray() || !info[2].IsArray() || !info[3].IsArray()) {
    type_error(env, "featureDistance(layersA, layersB, shapes, weights): all four must be arrays");
  }
  const Napi::Array a = info[0].As<Napi::Array>(), b = info[1].As<Napi::Array>();
  const Napi::Array shapes = info[2].As<Napi::Array>(), weights = info[3].As<Napi::Array>();
  const uint32_t count = shapes.Length();
  if (a.Length() != count || b.Length() != count || weights.Length() != count) {
    range_error(env, "featureDistance: layersA, layersB, shapes and weights must have one entry per layer; their lengths are " +
                         std::to_string(a.Length()) + ", " + std::to_string(b.Length()) + ", " + std::to_string(count) + ", " +
                         std::to_string(weights.Length()));
  }
  std::vector<medpsim::FeatureLayer> layers;
  for (uint32_t i = 0; i < count; ++i) {
    const std::string index = "[" + std::to_string(i) + "]";
    if (!shapes.Get(i).IsObject()) type_error(env, "featureDistance: shapes" + index + " must be an object");
    const Napi::Object shape = shapes.Get(i).As<Napi::Object>();
    medpsim::FeatureLayer layer{};
    layer.channels = positive_int(env, shape, "channels", "featureDistance: shapes" + index);
    layer.pixels = positive_int(env, shape, "pixels", "featureDistance: shapes" + index);
    const size_t values = layer.channels * layer.pixels;  // both < 2^30: no overflow in 64 bits
    layer.a = feature_plane(env, a.Get(i), values, "featureDistance: layersA" + index);
    layer.b = feature_plane(env, b.Get(i), values, "featureDistance: layersB" + index);
    const Napi::Value w = weights.Get(i);
    if (!w.IsNull() && !w.IsUndefined()) layer.weights = feature_plane(env, w, layer.channels, "featureDistance: weights" + index);
    layers.push_back(layer);
  }
  try {
    return Napi::Number::New(env, medpsim::feature_distance(layers));
  } catch (const std::exception& error) {  // the scratch allocation
    throw Napi::Error::New(env, std::string("featureDistance: ") + error.what());
  }
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("planarFloat", Napi::Function::New(env, PlanarFloat));
  exports.Set("pngEncode", Napi::Function::New(env, PngEncode));
  exports.Set("windowTo8bit", Napi::Function::New(env, WindowTo8bit));
  exports.Set("distort", Napi::Function::New(env, Distort));
  exports.Set("kinds", Napi::Function::New(env, Kinds));
  exports.Set("score", Napi::Function::New(env, Score));
  exports.Set("metrics", Napi::Function::New(env, Metrics));
  exports.Set("backends", Napi::Function::New(env, Backends));
  exports.Set("featureDistance", Napi::Function::New(env, FeatureDistance));
  return exports;
}

}  // namespace

NODE_API_MODULE(medpsim_native, Init)
