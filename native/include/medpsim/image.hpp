// Planar float32 image: `channels` planes of `height` rows of `width` samples, values in [0, 1].
// An Image either owns its samples (Image::allocate) or views memory owned by someone else
// (Image::view, e.g. a Node Buffer), so kernels can write straight into a caller's buffer.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <vector>

#include "medpsim/buffer_pool.hpp"

namespace medpsim {

class Image {
 public:
  Image() = default;

  static Image allocate(int width, int height, int channels) {
    check_dims(width, height, channels);
    Image image;
    image.width_ = width;
    image.height_ = height;
    image.channels_ = channels;
    image.storage_.assign(static_cast<size_t>(width) * height * channels, 0.0f);
    image.data_ = image.storage_.data();
    return image;
  }

  // Non-owning view over `width * height * channels` floats laid out plane after plane.
  static Image view(float* data, int width, int height, int channels) {
    check_dims(width, height, channels);
    if (!data) throw std::invalid_argument("Image::view: null data");
    Image image;
    image.width_ = width;
    image.height_ = height;
    image.channels_ = channels;
    image.data_ = data;
    return image;
  }

  // Copies deep-copy owned samples and keep views as views.
  Image(const Image& other) { *this = other; }
  Image& operator=(const Image& other) {
    if (this == &other) return *this;
    width_ = other.width_;
    height_ = other.height_;
    channels_ = other.channels_;
    storage_ = other.storage_;
    data_ = other.owns() ? storage_.data() : other.data_;
    return *this;
  }
  Image(Image&& other) noexcept { *this = std::move(other); }
  Image& operator=(Image&& other) noexcept {
    if (this == &other) return *this;
    const bool owned = other.owns();
    width_ = other.width_;
    height_ = other.height_;
    channels_ = other.channels_;
    storage_ = std::move(other.storage_);
    data_ = owned ? storage_.data() : other.data_;
    other.width_ = other.height_ = other.channels_ = 0;
    other.data_ = nullptr;
    other.storage_.clear();
    return *this;
  }

  int width() const { return width_; }
  int height() const { return height_; }
  int channels() const { return channels_; }
  bool empty() const { return data_ == nullptr; }
  bool owns() const { return data_ != nullptr && !storage_.empty() && data_ == storage_.data(); }
  size_t plane_size() const { return static_cast<size_t>(width_) * height_; }
  size_t size() const { return plane_size() * channels_; }
  bool same_shape(const Image& other) const {
    return width_ == other.width_ && height_ == other.height_ && channels_ == other.channels_;
  }

  float* data() { return data_; }
  const float* data() const { return data_; }
  float* plane(int c) { return data_ + plane_size() * c; }
  const float* plane(int c) const { return data_ + plane_size() * c; }
  float& at(int c, int y, int x) { return plane(c)[static_cast<size_t>(y) * width_ + x]; }
  float at(int c, int y, int x) const { return plane(c)[static_cast<size_t>(y) * width_ + x]; }

 private:
  static void check_dims(int width, int height, int channels) {
    if (width < 1 || height < 1) throw std::invalid_argument("Image: width and height must be >= 1");
    if (channels != 1 && channels != 3) throw std::invalid_argument("Image: channels must be 1 or 3");
  }

  int width_ = 0;
  int height_ = 0;
  int channels_ = 0;
  std::vector<float, detail::PoolAllocator<float>> storage_;  // recycled: see buffer_pool.hpp
  float* data_ = nullptr;
};

}  // namespace medpsim
