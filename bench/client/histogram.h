// Latency histogram with ~1.5 % relative precision over 1 ns .. 18 minutes,
// cheap enough to record every call. Each client thread has its own; they are
// merged at the end.
#pragma once

#include <cstdint>
#include <vector>

namespace bench_client {

class histogram {
 public:
  histogram();
  void record(int64_t ns);
  void merge(const histogram& other);
  uint64_t count() const { return total_; }
  // Nanoseconds below which a fraction `q` (0..1) of the values lie.
  int64_t quantile(double q) const;
  int64_t max() const { return max_; }
  double mean() const { return total_ ? sum_ / static_cast<double>(total_) : 0.0; }

 private:
  static constexpr int sub_bits = 6;
  static constexpr int sub_count = 1 << sub_bits;
  static constexpr int max_bit = 40;
  static constexpr int bucket_count = (max_bit - sub_bits + 2) * sub_count;
  static int index_of(int64_t ns);
  static int64_t middle_of(int index);

  std::vector<uint64_t> counts_;
  uint64_t total_ = 0;
  int64_t max_ = 0;
  double sum_ = 0.0;
};

}  // namespace bench_client
