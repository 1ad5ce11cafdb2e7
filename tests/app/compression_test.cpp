// Compressed requests against `troupe serve` as a process: a decompression
// bomb (255 KB of gzip that inflates to 256 MiB; gRPC 1.51 inflates it whole
// before it compares the size with max_receive_message_bytes) is refused by
// gRPC itself before anything is inflated, and the server's peak memory stays
// where it was.
#include <gtest/gtest.h>

#include <condition_variable>
#include <csignal>
#include <fstream>
#include <mutex>
#include <optional>
#include <string>

#include <sys/mman.h>

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include "support/temp_folder.hpp"
#include "troupe_process.hpp"

namespace troupe::test {
namespace {

using namespace std::chrono_literals;

constexpr size_t bomb_bytes = size_t{256} << 20;

// A field of /proc/PID/status in KiB ("VmHWM", "VmRSS"), -1 if unreadable.
long status_kib(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind(field + ":", 0) == 0)
      return std::stol(line.substr(field.size() + 1));
  return -1;
}

// 256 MiB of zeros that cost this process no memory: never-written anonymous
// pages all read as the kernel's one zero page, so gRPC can compress them
// without the test holding 256 MiB.
class zero_pages {
public:
  zero_pages() : data_(mmap(nullptr, bomb_bytes, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)) {
    if (data_ == MAP_FAILED)
      throw std::runtime_error("mmap failed");
  }
  ~zero_pages() { munmap(data_, bomb_bytes); }
  zero_pages(const zero_pages&) = delete;
  zero_pages& operator=(const zero_pages&) = delete;

  grpc::ByteBuffer buffer() const {
    grpc::Slice slice(data_, bomb_bytes, grpc::Slice::STATIC_SLICE);
    return grpc::ByteBuffer(&slice, 1);
  }

private:
  void* data_;
};

// One unary call of `request` to `method`, compressed with `algorithm`.
grpc::Status unary(int port, const std::string& method, const grpc::ByteBuffer& request,
                   grpc_compression_algorithm algorithm) {
  grpc::ChannelArguments args;
  args.SetMaxSendMessageSize(-1);  // the client's own limit is not what is tested
  grpc::GenericStub stub(grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port),
                                                   grpc::InsecureChannelCredentials(), args));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 60s);
  ctx.set_compression_algorithm(algorithm);
  grpc::ByteBuffer response;
  std::mutex mu;
  std::condition_variable cv;
  std::optional<grpc::Status> result;
  stub.UnaryCall(&ctx, method, grpc::StubOptions(), &request, &response, [&](grpc::Status st) {
    std::lock_guard<std::mutex> lk(mu);
    result = st;
    cv.notify_all();
  });
  std::unique_lock<std::mutex> lk(mu);
  cv.wait(lk, [&] { return result.has_value(); });
  return *result;
}

TEST(compression, a_gzip_bomb_is_refused_unimplemented_and_never_inflated) {
  temp_folder dir{"troupe-compression"};
  std::ofstream(dir / "troupe.toml") << "[server]\nport = 0\nshutdown_grace_s = 1\ntransport_threads = 1\n"
                                        "[scheduler]\nmax_threads = 2\n"
                                        "[database]\nurl = \"sqlite://" << dir / "troupe.db" << "\"\n";
  troupe_process troupe{{"serve", "--config", dir / "troupe.toml"}};
  int port = troupe.wait_listening();
  ASSERT_NE(port, 0) << troupe.stderr_text();
  const std::string method = "/grpc.health.v1.Health/Check";
  grpc::Slice nothing(std::string{});
  const grpc::ByteBuffer empty(&nothing, 1);  // an empty HealthCheckRequest: the whole server
  ASSERT_TRUE(unary(port, method, empty, GRPC_COMPRESS_NONE).ok());
  long before = status_kib(troupe.pid(), "VmHWM");
  ASSERT_GT(before, 0);

  zero_pages zeros;
  for (int i = 0; i < 3; ++i) {  // the probe that found it sent three
    auto st = unary(port, method, zeros.buffer(), GRPC_COMPRESS_GZIP);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::UNIMPLEMENTED) << st.error_message();
    EXPECT_NE(st.error_message().find("Compression algorithm 'gzip' is disabled"), std::string::npos)
      << st.error_message();
  }
  // Inflated, one bomb alone would add 256 MiB to the peak.
  long after = status_kib(troupe.pid(), "VmHWM");
  RecordProperty("vmhwm_before_kib", static_cast<int>(before));
  RecordProperty("vmhwm_after_kib", static_cast<int>(after));
  EXPECT_LT(after - before, 32 * 1024) << "VmHWM " << before << " KiB -> " << after << " KiB";

  // Uncompressed calls are served as before.
  EXPECT_TRUE(unary(port, method, empty, GRPC_COMPRESS_NONE).ok());
  troupe.signal(SIGTERM);
  EXPECT_EQ(troupe.wait_exit(10s), 0) << troupe.stderr_text();
  // One log line per refused call (gRPC's own, through Troupe's log).
  auto err = troupe.stderr_text();
  size_t lines = 0;
  for (size_t at = 0; (at = err.find("Compression algorithm 'gzip' is disabled", at)) != std::string::npos; ++at)
    ++lines;
  EXPECT_EQ(lines, 3u) << err;
}

}  // namespace
}  // namespace troupe::test
