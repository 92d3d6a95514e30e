// FuzzInput: reads a libFuzzer input as a stream of small decisions. Past the
// end every read returns 0, so any byte string decodes to some sequence of
// events and no input is rejected.
#ifndef EBSP_TESTS_FUZZ_FUZZ_INPUT_H_
#define EBSP_TESTS_FUZZ_FUZZ_INPUT_H_

#include <cstddef>
#include <cstdint>
#include <string>

namespace ebsp::fuzz {

class FuzzInput {
 public:
  FuzzInput(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  bool done() const { return pos_ >= size_; }
  uint8_t Byte() { return pos_ < size_ ? data_[pos_++] : 0; }
  // A value in [0, n), n >= 1.
  int Below(int n) { return Byte() % n; }
  uint32_t U32() {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v = (v << 8) | Byte();
    return v;
  }
  // Up to `max` raw bytes, the length taken from the input.
  std::string Bytes(size_t max) {
    size_t n = Byte();
    if (n > max) n = max;
    if (n > size_ - pos_) n = done() ? 0 : size_ - pos_;
    std::string out(reinterpret_cast<const char*>(data_ + pos_), n);
    pos_ += n;
    return out;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

}  // namespace ebsp::fuzz

#endif  // EBSP_TESTS_FUZZ_FUZZ_INPUT_H_
