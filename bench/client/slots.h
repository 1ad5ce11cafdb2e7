// The kinds of slot, one per way of using the Bench service (and, for db,
// Troupe's demo services), and the factory that picks them for a scenario.
#pragma once

#include "engine.h"

#include "demo/v1/logs.grpc.pb.h"
#include "demo/v1/users.grpc.pb.h"

#include <grpcpp/channel.h>

#include <cstring>
#include <string>
#include <vector>

namespace bench_client {

// What slots may call over one connection.
struct channel_stubs {
  explicit channel_stubs(const std::shared_ptr<grpc::Channel>& channel)
      : bench(bench::v1::Bench::NewStub(channel)),
        users(demo::v1::UserService::NewStub(channel)),
        logs(demo::v1::LogService::NewStub(channel)) {}

  std::unique_ptr<bench::v1::Bench::Stub> bench;
  std::unique_ptr<demo::v1::UserService::Stub> users;
  std::unique_ptr<demo::v1::LogService::Stub> logs;
};

// Users created before a db get-user run: what GetUser must answer.
using seeded_users = std::vector<demo::v1::User>;

// Payload bytes for message `sequence`: the sequence number first, so that an
// echo of another call's message (or a stale one) never compares equal.
inline void fill_payload(std::string& data, size_t size, uint64_t sequence) {
  data.assign(size, 'p');
  std::memcpy(data.data(), &sequence, std::min(size, sizeof sequence));
}

std::unique_ptr<slot> make_unary_slot(worker& w, bench::v1::Bench::Stub& stub);
// Unary with request metadata bench-db-ms (--db-ms): one slow query per call.
std::unique_ptr<slot> make_db_load_slot(worker& w, bench::v1::Bench::Stub& stub);
std::unique_ptr<slot> make_server_stream_slot(worker& w, bench::v1::Bench::Stub& stub,
                                              int messages);
std::unique_ptr<slot> make_client_stream_slot(worker& w, bench::v1::Bench::Stub& stub,
                                              int messages);
// `window` messages in flight (1 = ping-pong); `limit` messages per stream,
// 0 = one stream held until the run stops.
std::unique_ptr<slot> make_bidi_slot(worker& w, bench::v1::Bench::Stub& stub, int window,
                                     int limit);
std::unique_ptr<slot> make_idle_stream_slot(worker& w, bench::v1::Bench::Stub& stub);
std::unique_ptr<slot> make_slow_reader_slot(worker& w, bench::v1::Bench::Stub& stub);
std::unique_ptr<slot> make_mixed_slot(worker& w, bench::v1::Bench::Stub& stub);
// demo.v1 GetUser of a random seeded user (`sync`: GetUserSync, the same read
// as a sync handler), or one UploadLogs of --stream-messages entries.
std::unique_ptr<slot> make_get_user_slot(worker& w, channel_stubs& stubs,
                                         const seeded_users& users, bool sync);
std::unique_ptr<slot> make_upload_logs_slot(worker& w, channel_stubs& stubs);

// The slot a scenario runs in each unit of concurrency.
std::unique_ptr<slot> make_slot(const std::string& scenario, worker& w, channel_stubs& stubs,
                                const seeded_users& users);

}  // namespace bench_client
