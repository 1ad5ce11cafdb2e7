// Request metadata sent with every call of a run (`--metadata KEY=VALUE`),
// e.g. an API key, added by a client interceptor on each channel.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <grpcpp/grpcpp.h>

namespace bench_client {

using metadata_list = std::vector<std::pair<std::string, std::string>>;

// "key=value" -> {key, value}; throws std::invalid_argument without '='.
std::pair<std::string, std::string> parse_metadata(const std::string& text);

// A channel like grpc::CreateCustomChannel whose calls all carry `md`.
std::shared_ptr<grpc::Channel> channel_with_metadata(const std::string& target,
                                                     const grpc::ChannelArguments& args,
                                                     const metadata_list& md);

}  // namespace bench_client
