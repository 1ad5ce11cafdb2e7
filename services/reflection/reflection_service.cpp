// One bidi call per reflection client: each request gets one response, from
// the generated descriptor pool. v1 and v1alpha share the message shapes, so
// one template serves both.
#include "reflection_service.hpp"

#include <set>
#include <string>
#include <vector>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>

#include "grpc/reflection/v1/reflection.pb.h"
#include "grpc/reflection/v1alpha/reflection.pb.h"

namespace troupe::services {

namespace {

namespace pb = google::protobuf;

// The file, then everything it imports, each once: clients resolve a file's
// dependencies from the same response.
template <class Resp>
void add_files(const pb::FileDescriptor* file, Resp& resp) {
  std::vector<const pb::FileDescriptor*> order{file};
  std::set<std::string> seen{file->name()};
  for (size_t i = 0; i < order.size(); ++i) {
    for (int d = 0; d < order[i]->dependency_count(); ++d) {
      auto* dep = order[i]->dependency(d);
      if (seen.insert(dep->name()).second)
        order.push_back(dep);
    }
  }
  auto* out = resp.mutable_file_descriptor_response();
  for (auto* f : order) {
    pb::FileDescriptorProto proto;
    f->CopyTo(&proto);
    out->add_file_descriptor_proto(proto.SerializeAsString());
  }
}

template <class Req, class Resp>
Resp answer(const Req& req, const troupe::server& srv) {
  Resp resp;
  resp.set_valid_host(req.host());
  *resp.mutable_original_request() = req;
  auto error = [&](grpc::StatusCode code, const std::string& message) {
    resp.mutable_error_response()->set_error_code(static_cast<int>(code));
    resp.mutable_error_response()->set_error_message(message);
  };
  auto* pool = pb::DescriptorPool::generated_pool();
  switch (req.message_request_case()) {
    case Req::kListServices:
      for (auto& name : srv.service_names())
        resp.mutable_list_services_response()->add_service()->set_name(name);
      break;
    case Req::kFileByFilename:
      if (auto* file = pool->FindFileByName(req.file_by_filename()))
        add_files(file, resp);
      else
        error(grpc::StatusCode::NOT_FOUND, "no file " + req.file_by_filename());
      break;
    case Req::kFileContainingSymbol:
      if (auto* file = pool->FindFileContainingSymbol(req.file_containing_symbol()))
        add_files(file, resp);
      else
        error(grpc::StatusCode::NOT_FOUND, "no symbol " + req.file_containing_symbol());
      break;
    case Req::kFileContainingExtension: {
      auto& ext = req.file_containing_extension();
      auto* type = pool->FindMessageTypeByName(ext.containing_type());
      auto* field = type ? pool->FindExtensionByNumber(type, ext.extension_number()) : nullptr;
      if (field)
        add_files(field->file(), resp);
      else
        error(grpc::StatusCode::NOT_FOUND, "no extension " + std::to_string(ext.extension_number()) +
                                             " of " + ext.containing_type());
      break;
    }
    case Req::kAllExtensionNumbersOfType: {
      auto* type = pool->FindMessageTypeByName(req.all_extension_numbers_of_type());
      if (!type) {
        error(grpc::StatusCode::NOT_FOUND, "no type " + req.all_extension_numbers_of_type());
        break;
      }
      std::vector<const pb::FieldDescriptor*> extensions;
      pool->FindAllExtensions(type, &extensions);
      auto* out = resp.mutable_all_extension_numbers_response();
      out->set_base_type_name(type->full_name());
      for (auto* e : extensions)
        out->add_extension_number(e->number());
      break;
    }
    default:
      error(grpc::StatusCode::INVALID_ARGUMENT, "empty reflection request");
  }
  return resp;
}

template <class Req, class Resp>
troupe::service reflection_service(const std::string& name, const troupe::server& srv) {
  troupe::service svc{name};
  const troupe::server* s = &srv;  // outlives its calls
  svc.bidi<Req, Resp>("ServerReflectionInfo", [s](troupe::bidi_actor<Req, Resp> self) -> caf::behavior {
    return {
      [=](const Req& req) {
        // A client that sends faster than it reads waits under flow control.
        if (!self.write(answer<Req, Resp>(req, *s)))
          self.pause_input();
      },
      [=](troupe::write_credit) { self.resume_input(); },
    };
  });
  return svc;
}

}  // namespace

void add_reflection(troupe::server& srv) {
  namespace v1 = grpc::reflection::v1;
  namespace v1alpha = grpc::reflection::v1alpha;
  srv.add(reflection_service<v1::ServerReflectionRequest, v1::ServerReflectionResponse>(
    "grpc.reflection.v1.ServerReflection", srv));
  srv.add(reflection_service<v1alpha::ServerReflectionRequest, v1alpha::ServerReflectionResponse>(
    "grpc.reflection.v1alpha.ServerReflection", srv));
}

}  // namespace troupe::services
