#include "call_metadata.h"

#include <stdexcept>

#include <grpcpp/support/client_interceptor.h>

namespace bench_client {

namespace {

namespace gx = grpc::experimental;

class add_metadata final : public gx::Interceptor {
 public:
  explicit add_metadata(std::shared_ptr<const metadata_list> md) : md_(std::move(md)) {}

  void Intercept(gx::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(gx::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      auto* sent = methods->GetSendInitialMetadata();
      for (const auto& [key, value] : *md_)
        sent->emplace(key, value);
    }
    methods->Proceed();
  }

 private:
  std::shared_ptr<const metadata_list> md_;
};

class add_metadata_factory final : public gx::ClientInterceptorFactoryInterface {
 public:
  explicit add_metadata_factory(std::shared_ptr<const metadata_list> md) : md_(std::move(md)) {}

  gx::Interceptor* CreateClientInterceptor(gx::ClientRpcInfo*) override { return new add_metadata(md_); }

 private:
  std::shared_ptr<const metadata_list> md_;
};

}  // namespace

std::pair<std::string, std::string> parse_metadata(const std::string& text) {
  auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0)
    throw std::invalid_argument("--metadata wants KEY=VALUE, got '" + text + "'");
  return {text.substr(0, eq), text.substr(eq + 1)};
}

std::shared_ptr<grpc::Channel> channel_with_metadata(const std::string& target,
                                                     const grpc::ChannelArguments& args,
                                                     const metadata_list& md) {
  if (md.empty())
    return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
  std::vector<std::unique_ptr<gx::ClientInterceptorFactoryInterface>> factories;
  factories.push_back(std::make_unique<add_metadata_factory>(std::make_shared<const metadata_list>(md)));
  return gx::CreateCustomChannelWithInterceptors(target, grpc::InsecureChannelCredentials(), args,
                                                 std::move(factories));
}

}  // namespace bench_client
