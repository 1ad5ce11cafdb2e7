#include "histogram.h"

#include <algorithm>

namespace bench_client {

histogram::histogram() : counts_(bucket_count, 0) {}

// Values below 2^sub_bits get a bucket each; above, every power of two is
// split into sub_count equal buckets (log-linear, as HdrHistogram does).
int histogram::index_of(int64_t ns) {
  if (ns < sub_count)
    return static_cast<int>(std::max<int64_t>(ns, 0));
  const int msb = 63 - __builtin_clzll(static_cast<uint64_t>(ns));
  if (msb > max_bit)
    return bucket_count - 1;
  const int sub = static_cast<int>((ns >> (msb - sub_bits)) & (sub_count - 1));
  return (msb - sub_bits + 1) * sub_count + sub;
}

int64_t histogram::middle_of(int index) {
  if (index < sub_count)
    return index;
  const int msb = index / sub_count + sub_bits - 1;
  const int64_t width = int64_t{1} << (msb - sub_bits);
  const int64_t low = static_cast<int64_t>(sub_count + index % sub_count) << (msb - sub_bits);
  return low + width / 2;
}

void histogram::record(int64_t ns) {
  ++counts_[static_cast<size_t>(index_of(ns))];
  ++total_;
  max_ = std::max(max_, ns);
  sum_ += static_cast<double>(ns);
}

void histogram::merge(const histogram& other) {
  for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  total_ += other.total_;
  max_ = std::max(max_, other.max_);
  sum_ += other.sum_;
}

int64_t histogram::quantile(double q) const {
  if (total_ == 0)
    return 0;
  const auto rank = static_cast<uint64_t>(q * static_cast<double>(total_ - 1)) + 1;
  uint64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank)
      return std::min(middle_of(static_cast<int>(i)), max_);
  }
  return max_;
}

}  // namespace bench_client
