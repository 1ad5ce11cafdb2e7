#include "troupe/service.hpp"

#include <stdexcept>

namespace troupe {

const char* to_string(rpc_kind k) {
  switch (k) {
    case rpc_kind::unary:
      return "unary";
    case rpc_kind::server_stream:
      return "server_stream";
    case rpc_kind::client_stream:
      return "client_stream";
    case rpc_kind::bidi:
      return "bidi";
  }
  return "unknown";
}

service::service(std::string full_name)
    : name_(std::move(full_name)),
      descriptor_(google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(name_)) {
  if (!descriptor_)
    throw std::invalid_argument("service " + name_ +
                                ": no such service in the linked .proto descriptors");
}

void service::check(const std::string& method, rpc_kind kind,
                    const google::protobuf::Descriptor* req,
                    const google::protobuf::Descriptor* resp) const {
  auto where = name_ + "/" + method + ": ";
  auto* m = descriptor_->FindMethodByName(method);
  if (!m)
    throw std::invalid_argument(where + "no such method in the .proto");
  if (m->input_type() != req)
    throw std::invalid_argument(where + "request type is " + m->input_type()->full_name() +
                                " in the .proto, registered as " + req->full_name());
  if (m->output_type() != resp)
    throw std::invalid_argument(where + "response type is " + m->output_type()->full_name() +
                                " in the .proto, registered as " + resp->full_name());
  rpc_kind declared = m->client_streaming()
                        ? (m->server_streaming() ? rpc_kind::bidi : rpc_kind::client_stream)
                        : (m->server_streaming() ? rpc_kind::server_stream : rpc_kind::unary);
  if (declared != kind)
    throw std::invalid_argument(where + "declared " + to_string(declared) +
                                " in the .proto, registered as " + to_string(kind));
  for (auto& b : methods_)
    if (b.path == "/" + name_ + "/" + method)
      throw std::invalid_argument(where + "registered twice");
}

}  // namespace troupe
