// The PNG writer (medpsim/png.hpp): a deflate of literals and one-byte runs, per-block Huffman codes.
#include "medpsim/png.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <stdexcept>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace medpsim {
namespace {

constexpr size_t kBlockBytes = size_t{1} << 17;  // input bytes per deflate block, each with its own codes
constexpr size_t kMinRun = 6;                    // shorter runs cost more as a match than as literals on film
constexpr size_t kMaxRun = 258;                  // deflate's longest match
constexpr int kLiteralLengthCodes = 286;
constexpr int kEndOfBlock = 256;
constexpr int kCodeLengthCodes = 19;
constexpr uint16_t kRunToken = 0x8000;  // a token with this bit is a run of (token & 0x1ff) bytes

// RFC 1951 3.2.5: length symbols 257..285, their extra bits and the first length of each.
constexpr std::array<uint8_t, 29> kLengthExtraBits = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                                      2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
constexpr std::array<uint16_t, 29> kLengthBase = {3,  4,  5,  6,  7,  8,  9,  10, 11,  13,  15,  17,  19,  23, 27,
                                                  31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
// The order in which the code-length code's lengths are sent (RFC 1951 3.2.7).
constexpr std::array<uint8_t, kCodeLengthCodes> kCodeLengthOrder = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};

// For each run length 3..258 the index (0..28) of its length symbol.
const std::array<uint8_t, kMaxRun + 1>& length_index() {
  static const std::array<uint8_t, kMaxRun + 1> table = [] {
    std::array<uint8_t, kMaxRun + 1> t{};
    for (size_t length = 3; length <= kMaxRun; ++length) {
      int index = 28;
      while (kLengthBase[index] > length) --index;
      t[length] = static_cast<uint8_t>(index);
    }
    return t;
  }();
  return table;
}

// Code lengths of a Huffman code for the frequencies, none longer than `limit`. Every symbol with a
// frequency gets a code; so do two symbols at least (a code of one symbol is not complete, and inflaters
// differ on it). Frequencies are halved (staying above zero) until the longest code fits: rarely needed,
// and then the cost is a fraction of a bit on the rare symbols.
void huffman_lengths(const uint32_t* frequencies, int n, int limit, uint8_t* lengths) {
  std::fill(lengths, lengths + n, uint8_t{0});
  std::vector<uint32_t> weight(frequencies, frequencies + n);
  std::vector<int> used;
  for (int s = 0; s < n; ++s)
    if (weight[s] > 0) used.push_back(s);
  for (int s = 0; used.size() < 2; ++s)
    if (weight[s] == 0) weight[s] = 1, used.push_back(s);
  std::sort(used.begin(), used.end());
  const size_t leaves = used.size();
  std::vector<uint64_t> node_weight(2 * leaves - 1);
  std::vector<int> parent(2 * leaves - 1, -1);
  std::vector<uint8_t> depth(2 * leaves - 1);
  for (;;) {
    // Leaves sorted by weight (ties by symbol, so the code depends on nothing else), then the two-queue
    // construction: internal nodes are made in non-decreasing weight order.
    std::vector<int> order(used);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return weight[a] < weight[b]; });
    for (size_t i = 0; i < leaves; ++i) node_weight[i] = weight[order[i]];
    size_t next_leaf = 0, next_internal = leaves, made = leaves;
    auto take = [&]() -> size_t {
      if (next_leaf < leaves && (next_internal == made || node_weight[next_leaf] <= node_weight[next_internal])) return next_leaf++;
      return next_internal++;
    };
    while (made < 2 * leaves - 1) {
      const size_t a = take(), b = take();
      node_weight[made] = node_weight[a] + node_weight[b];
      parent[a] = parent[b] = static_cast<int>(made);
      ++made;
    }
    depth[made - 1] = 0;
    int longest = 0;
    for (size_t i = made - 1; i-- > 0;) {
      depth[i] = static_cast<uint8_t>(std::min(depth[parent[i]] + 1, 255));
      if (i < leaves) longest = std::max<int>(longest, depth[i]);
    }
    if (longest <= limit) {
      for (size_t i = 0; i < leaves; ++i) lengths[order[i]] = depth[i];
      return;
    }
    for (int s : used) weight[s] = (weight[s] + 1) / 2;
  }
}

// Canonical codes for the lengths (RFC 1951 3.2.2), bit-reversed: deflate sends Huffman codes from their
// most significant bit, and the bit writer fills bytes from their least significant one.
void canonical_codes(const uint8_t* lengths, int n, uint16_t* codes) {
  std::array<uint16_t, 16> count{}, next{};
  for (int s = 0; s < n; ++s) count[lengths[s]]++;
  count[0] = 0;
  uint16_t code = 0;
  for (int bits = 1; bits < 16; ++bits) {
    code = static_cast<uint16_t>((code + count[bits - 1]) << 1);
    next[bits] = code;
  }
  for (int s = 0; s < n; ++s) {
    const int length = lengths[s];
    if (length == 0) continue;
    uint16_t c = next[length]++, reversed = 0;
    for (int b = 0; b < length; ++b) reversed = static_cast<uint16_t>((reversed << 1) | ((c >> b) & 1));
    codes[s] = reversed;
  }
}

// Deflate's bit order (RFC 1951 3.1.1): values fill bytes from their least significant bit. Up to 56 bits
// may be put between flushes; a flush stores 8 bytes unconditionally (the output keeps 8 bytes of slack)
// and moves on by the whole bytes written, so the hot loop has no branch on the buffer's fill.
class BitWriter {
 public:
  explicit BitWriter(uint8_t* out) : out_(out), start_(out) {}
  void put(uint64_t bits, int count) {
    buffer_ |= bits << filled_;
    filled_ += count;
  }
  void flush() {
    std::memcpy(out_, &buffer_, 8);  // little-endian hosts only (checked at the top of png_encode)
    out_ += filled_ >> 3;
    buffer_ = (filled_ & ~7) == 64 ? 0 : buffer_ >> (filled_ & ~7);
    filled_ &= 7;
  }
  // Pads to a byte boundary with zero bits.
  void align() {
    flush();
    if (filled_ > 0) *out_++ = static_cast<uint8_t>(buffer_), buffer_ = 0, filled_ = 0;
  }
  void bytes(const uint8_t* data, size_t size) {
    std::memcpy(out_, data, size);
    out_ += size;
  }
  size_t written() const { return static_cast<size_t>(out_ - start_); }

 private:
  uint8_t* out_;
  uint8_t* start_;
  uint64_t buffer_ = 0;
  int filled_ = 0;
};

// The code-length sequence of a dynamic block header, run-length coded with symbols 16 (repeat the previous
// length 3-6 times), 17 (3-10 zeros) and 18 (11-138 zeros): each entry a symbol and its extra-bit value.
struct CodeLengthSymbol {
  uint8_t symbol, extra;
};
std::vector<CodeLengthSymbol> code_length_sequence(const uint8_t* lengths, size_t n) {
  std::vector<CodeLengthSymbol> out;
  for (size_t i = 0; i < n;) {
    const uint8_t length = lengths[i];
    size_t run = 1;
    while (i + run < n && lengths[i + run] == length) ++run;
    size_t left = run;
    if (length == 0) {
      while (left >= 11) {
        const size_t take = std::min<size_t>(left, 138);
        out.push_back({18, static_cast<uint8_t>(take - 11)});
        left -= take;
      }
      if (left >= 3) out.push_back({17, static_cast<uint8_t>(left - 3)}), left = 0;
    } else {
      out.push_back({length, 0});
      --left;
      while (left >= 3) {
        const size_t take = std::min<size_t>(left, 6);
        out.push_back({16, static_cast<uint8_t>(take - 3)});
        left -= take;
      }
    }
    for (; left > 0; --left) out.push_back({length, 0});
    i += run;
  }
  return out;
}

constexpr int code_length_extra_bits(int symbol) { return symbol == 16 ? 2 : symbol == 17 ? 3 : symbol == 18 ? 7 : 0; }

// A run of one byte repeated: `length` bytes from `start` equal to the byte before them (deflate's
// distance 1).
struct Run {
  uint32_t start, length;
};

// Where the runs of at least kMinRun bytes are, never longer than kMaxRun (the rest of the block is
// literals), with the frequencies of every literal and length symbol. data[-1] is the byte before the
// block, except in the stream's first block (`first`), where nothing comes before byte 0.
void find_runs(const uint8_t* data, size_t size, bool first, std::vector<Run>& runs, uint32_t* frequencies) {
  const auto& index = length_index();
  runs.clear();
  // Four tables of literal counts, added up at the end: film repeats few values, and one table would make
  // every increment wait for the one before.
  std::array<std::array<uint32_t, 256>, 4> counts{};
  auto literals = [&](size_t from, size_t to) {
    size_t i = from;
    for (; i + 4 <= to; i += 4) counts[0][data[i]]++, counts[1][data[i + 1]]++, counts[2][data[i + 2]]++, counts[3][data[i + 3]]++;
    for (; i < to; ++i) counts[0][data[i]]++;
  };
  size_t literal_from = 0;
  for (size_t i = first ? 1 : 0; i < size;) {
    size_t candidate = size;  // the first i' >= i where data[i' - 1 .. i' + kMinRun - 1] are all equal
#if defined(__SSE2__)
    if (i + 16 <= size) {
      const __m128i here = _mm_loadu_si128(reinterpret_cast<const __m128i*>(data + i));
      const __m128i before = _mm_loadu_si128(reinterpret_cast<const __m128i*>(data + i - 1));
      uint32_t equal = static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(here, before)));
      for (size_t k = 1; k < kMinRun; ++k) equal &= equal >> 1;  // bit k: bytes k .. k + kMinRun - 1 repeat
      equal &= (1u << (17 - kMinRun)) - 1;                      // the starts whose window lies in the 16
      if (equal == 0) {
        i += 17 - kMinRun;
        continue;
      }
      candidate = i + static_cast<size_t>(__builtin_ctz(equal));
    }
#endif
    if (candidate == size) {  // the scalar way: the last bytes, or no SSE2
      size_t same = 0;
      for (; i < size; ++i) {
        same = data[i] == data[static_cast<ptrdiff_t>(i) - 1] ? same + 1 : 0;
        if (same == kMinRun) break;
      }
      if (i == size) break;
      candidate = i + 1 - kMinRun;
    }
    const uint8_t b = data[candidate];
    size_t end = candidate + kMinRun;
    const size_t limit = std::min(size, candidate + kMaxRun);
    while (end < limit && data[end] == b) ++end;
    literals(literal_from, candidate);
    runs.push_back({static_cast<uint32_t>(candidate), static_cast<uint32_t>(end - candidate)});
    frequencies[257 + index[end - candidate]]++;
    literal_from = i = end;
  }
  literals(literal_from, size);
  for (int v = 0; v < 256; ++v) frequencies[v] += counts[0][v] + counts[1][v] + counts[2][v] + counts[3][v];
}

// Writes the literals data[from, to) under the block's code, three per flush (3 x 15 + 7 bits fit in 64).
void write_literals(BitWriter& writer, const uint8_t* data, size_t from, size_t to, const uint16_t* codes, const uint8_t* lengths) {
  size_t i = from;
  for (; i + 3 <= to; i += 3) {
    writer.put(codes[data[i]], lengths[data[i]]);
    writer.put(codes[data[i + 1]], lengths[data[i + 1]]);
    writer.put(codes[data[i + 2]], lengths[data[i + 2]]);
    writer.flush();
  }
  for (; i < to; ++i) writer.put(codes[data[i]], lengths[data[i]]);
  writer.flush();
}

// Writes one block of `size` input bytes (data[-1] as in find_runs), dynamic Huffman or stored, whichever
// is smaller.
void write_block(BitWriter& writer, const uint8_t* data, size_t size, bool first, bool last, std::vector<Run>& runs) {
  std::array<uint32_t, kLiteralLengthCodes> frequencies{};
  find_runs(data, size, first, runs, frequencies.data());
  frequencies[kEndOfBlock] = 1;

  std::array<uint8_t, kLiteralLengthCodes> lengths{};
  huffman_lengths(frequencies.data(), kLiteralLengthCodes, 15, lengths.data());
  int literal_codes = kLiteralLengthCodes;
  while (literal_codes > 257 && lengths[literal_codes - 1] == 0) --literal_codes;
  // Two distance codes of one bit each (a complete code); only distance 1 (code 0) is used.
  constexpr int kDistanceCodes = 2;
  std::array<uint8_t, kLiteralLengthCodes + kDistanceCodes> all_lengths{};
  std::copy(lengths.begin(), lengths.begin() + literal_codes, all_lengths.begin());
  all_lengths[literal_codes] = all_lengths[literal_codes + 1] = 1;
  const auto sequence = code_length_sequence(all_lengths.data(), literal_codes + kDistanceCodes);

  std::array<uint32_t, kCodeLengthCodes> sequence_frequencies{};
  for (const auto& entry : sequence) sequence_frequencies[entry.symbol]++;
  std::array<uint8_t, kCodeLengthCodes> sequence_lengths{};
  huffman_lengths(sequence_frequencies.data(), kCodeLengthCodes, 7, sequence_lengths.data());
  int sent_code_lengths = kCodeLengthCodes;
  while (sent_code_lengths > 4 && sequence_lengths[kCodeLengthOrder[sent_code_lengths - 1]] == 0) --sent_code_lengths;

  uint64_t dynamic_bits = 3 + 5 + 5 + 4 + 3 * static_cast<uint64_t>(sent_code_lengths);
  for (const auto& entry : sequence) dynamic_bits += sequence_lengths[entry.symbol] + code_length_extra_bits(entry.symbol);
  for (int s = 0; s < literal_codes; ++s) {
    const uint64_t bits = lengths[s] + (s > 256 ? kLengthExtraBits[s - 257] + 1 : 0);  // + extra bits + distance code
    dynamic_bits += frequencies[s] * bits;
  }
  const size_t stored_blocks = std::max<size_t>(1, (size + 65534) / 65535);
  const uint64_t stored_bits = stored_blocks * (3 + 7 + 32) + 8 * static_cast<uint64_t>(size);

  if (stored_bits <= dynamic_bits) {
    for (size_t b = 0, offset = 0; b < stored_blocks; ++b) {
      const size_t chunk = std::min<size_t>(65535, size - offset);
      writer.put(last && b + 1 == stored_blocks ? 1 : 0, 3);  // BFINAL, BTYPE 00
      writer.align();
      const uint8_t header[4] = {static_cast<uint8_t>(chunk), static_cast<uint8_t>(chunk >> 8), static_cast<uint8_t>(~chunk),
                                 static_cast<uint8_t>(~chunk >> 8)};
      writer.bytes(header, 4);
      writer.bytes(data + offset, chunk);
      offset += chunk;
    }
    return;
  }

  std::array<uint16_t, kLiteralLengthCodes> codes{};
  canonical_codes(lengths.data(), kLiteralLengthCodes, codes.data());
  std::array<uint16_t, kCodeLengthCodes> sequence_codes{};
  canonical_codes(sequence_lengths.data(), kCodeLengthCodes, sequence_codes.data());

  writer.put((last ? 1 : 0) | (2 << 1), 3);  // BFINAL, BTYPE 10 (dynamic Huffman)
  writer.put(literal_codes - 257, 5);
  writer.put(kDistanceCodes - 1, 5);
  writer.put(sent_code_lengths - 4, 4);
  writer.flush();
  for (int i = 0; i < sent_code_lengths; ++i) writer.put(sequence_lengths[kCodeLengthOrder[i]], 3), writer.flush();
  for (const auto& entry : sequence) {
    writer.put(sequence_codes[entry.symbol], sequence_lengths[entry.symbol]);
    writer.put(entry.extra, code_length_extra_bits(entry.symbol));
    writer.flush();
  }

  const auto& index = length_index();
  size_t at = 0;
  for (const Run& run : runs) {
    write_literals(writer, data, at, run.start, codes.data(), lengths.data());
    const int i = index[run.length];
    writer.put(codes[257 + i], lengths[257 + i]);
    writer.put(run.length - kLengthBase[i], kLengthExtraBits[i]);
    writer.put(0, 1);  // distance code 0 (distance 1), whose one-bit code is 0
    writer.flush();
    at = run.start + run.length;
  }
  write_literals(writer, data, at, size, codes.data(), lengths.data());
  writer.put(codes[kEndOfBlock], lengths[kEndOfBlock]);
  writer.flush();
}

const std::array<std::array<uint32_t, 256>, 8>& crc_tables() {
  static const auto tables = [] {
    std::array<std::array<uint32_t, 256>, 8> t{};
    for (uint32_t n = 0; n < 256; ++n) {
      uint32_t c = n;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[0][n] = c;
    }
    for (uint32_t n = 0; n < 256; ++n)
      for (int k = 1; k < 8; ++k) t[k][n] = (t[k - 1][n] >> 8) ^ t[0][t[k - 1][n] & 0xff];
    return t;
  }();
  return tables;
}

void store_be32(uint8_t* at, uint32_t v) {
  at[0] = static_cast<uint8_t>(v >> 24), at[1] = static_cast<uint8_t>(v >> 16), at[2] = static_cast<uint8_t>(v >> 8), at[3] = static_cast<uint8_t>(v);
}

}  // namespace

uint32_t crc32(const uint8_t* data, size_t size, uint32_t crc) {
  const auto& t = crc_tables();
  crc = ~crc;
  for (; size >= 8; size -= 8, data += 8) {  // slicing by 8
    const uint32_t low = crc ^ (uint32_t{data[0]} | uint32_t{data[1]} << 8 | uint32_t{data[2]} << 16 | uint32_t{data[3]} << 24);
    crc = t[7][low & 0xff] ^ t[6][(low >> 8) & 0xff] ^ t[5][(low >> 16) & 0xff] ^ t[4][low >> 24] ^ t[3][data[4]] ^ t[2][data[5]] ^
          t[1][data[6]] ^ t[0][data[7]];
  }
  for (; size > 0; --size) crc = t[0][(crc ^ *data++) & 0xff] ^ (crc >> 8);
  return ~crc;
}

uint32_t adler32(const uint8_t* data, size_t size, uint32_t adler) {
  uint32_t a = adler & 0xffff, b = adler >> 16;
  while (size > 0) {
    size_t n = std::min<size_t>(size, 5552);  // the most bytes before b can overflow 32 bits
    size -= n;
    // Sixteen bytes at a time: b gains 16 a plus the bytes weighted 16, 15, ..., 1 (two sums the compiler
    // can vectorise), a their sum: the same as sixteen steps of a += d; b += a.
    for (; n >= 16; n -= 16, data += 16) {
      uint32_t sum = 0, weighted = 0;
      for (int k = 0; k < 16; ++k) sum += data[k], weighted += static_cast<uint32_t>(16 - k) * data[k];
      b += 16 * a + weighted;
      a += sum;
    }
    for (; n > 0; --n) a += *data++, b += a;
    a %= 65521, b %= 65521;
  }
  return (b << 16) | a;
}

ByteBuffer png_encode(const uint8_t* levels, int width, int height, int channels, int bit_depth) {
  if (width < 1 || height < 1 || (channels != 1 && channels != 3) || (bit_depth != 8 && bit_depth != 16)) {
    throw std::invalid_argument("png_encode: width and height >= 1, channels 1 or 3, bit depth 8 or 16");
  }
  const uint16_t one = 1;
  if (*reinterpret_cast<const uint8_t*>(&one) != 1) throw std::logic_error("png_encode: the bit writer needs a little-endian host");
  const size_t row_bytes = static_cast<size_t>(width) * channels * (bit_depth / 8);
  const size_t line = row_bytes + 1;  // a scanline: the filter byte, then the row
  const size_t total = line * static_cast<size_t>(height);
  const size_t rows_per_block = std::max<size_t>(1, kBlockBytes / line);
  const size_t blocks = (static_cast<size_t>(height) + rows_per_block - 1) / rows_per_block;

  // Signature, IHDR (8 + 25 bytes), IDAT's length and type, the stream, IDAT's CRC, IEND (12). The stream
  // is never longer than stored blocks: the bytes, 5 per stored block of at most 64 KiB, 2 + 4 of zlib.
  const size_t stream_bound = 2 + total + 5 * (total / 65535 + 2 * blocks) + 4;
  // Written into this thread's scratch buffer, which stays mapped and warm between calls, then copied out
  // at its final size (the bound is about the raw size, the PNG often a third of it).
  thread_local ByteBuffer scratch;
  scratch.resize(std::max(scratch.size(), 8 + 25 + 8 + stream_bound + 4 + 12 + 8));  // + 8: the bit writer's slack
  uint8_t* out = scratch.data();
  const uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  std::memcpy(out, signature, 8);
  store_be32(out + 8, 13);
  std::memcpy(out + 12, "IHDR", 4);
  store_be32(out + 16, static_cast<uint32_t>(width));
  store_be32(out + 20, static_cast<uint32_t>(height));
  out[24] = static_cast<uint8_t>(bit_depth);
  out[25] = channels == 1 ? 0 : 2;  // grey or RGB
  out[26] = out[27] = out[28] = 0;  // deflate, filter method 0, no interlace
  store_be32(out + 29, crc32(out + 12, 17));
  std::memcpy(out + 37, "IDAT", 4);
  uint8_t* stream = out + 41;
  stream[0] = 0x78, stream[1] = 0x01;  // deflate, 32 KiB window, "fastest" level; (0x78 << 8 | 0x01) % 31 == 0

  // Each block's scanlines are filtered into `block` (after one byte: the previous block's last, which a run
  // may repeat), then compressed while they are in cache.
  std::vector<uint8_t> block(1 + rows_per_block * line);
  std::vector<Run> runs;
  BitWriter writer(stream + 2);
  uint32_t adler = 1;
  for (size_t b = 0; b < blocks; ++b) {
    const size_t first_row = b * rows_per_block, rows = std::min(rows_per_block, static_cast<size_t>(height) - first_row);
    for (size_t r = 0; r < rows; ++r) {
      const size_t y = first_row + r;
      uint8_t* scanline = block.data() + 1 + r * line;
      const uint8_t* current = levels + y * row_bytes;
      scanline[0] = 2;  // Up: each byte minus the byte above (mod 256); row 0 as it is
      if (y == 0) {
        std::memcpy(scanline + 1, current, row_bytes);
      } else {
        const uint8_t* above = current - row_bytes;
        for (size_t i = 0; i < row_bytes; ++i) scanline[1 + i] = static_cast<uint8_t>(current[i] - above[i]);
      }
    }
    const size_t size = rows * line;
    adler = adler32(block.data() + 1, size, adler);
    write_block(writer, block.data() + 1, size, b == 0, b + 1 == blocks, runs);
    block[0] = block[size];
  }
  writer.align();
  size_t length = 2 + writer.written();
  store_be32(stream + length, adler);
  length += 4;
  if (length > stream_bound) throw std::logic_error("png_encode: the stream overran its bound");
  if (length > 0x7fffffff) throw std::length_error("png_encode: the image is too large for one PNG chunk (2 GiB compressed)");
  store_be32(out + 33, static_cast<uint32_t>(length));
  store_be32(stream + length, crc32(out + 37, 4 + length));
  uint8_t* end = stream + length + 4;
  const uint8_t iend[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82};
  std::memcpy(end, iend, 12);
  ByteBuffer png(static_cast<size_t>(end + 12 - out));
  std::memcpy(png.data(), out, png.size());
  if (scratch.size() > (size_t{64} << 20)) ByteBuffer().swap(scratch);  // a huge image's scratch is not kept
  return png;
}

}  // namespace medpsim
