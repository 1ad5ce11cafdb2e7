// django-socio-grpc's shape over a model (docs/models.md): a `<Name>Controller`
// with Create, List, Stream, Retrieve, Update, PartialUpdate and Destroy, its
// request/response messages mapped to the model's message field by field
// (same names; a Timestamp is RFC 3339 text in UTC), `_filters` and
// `_pagination` Structs (or `filters` / `pagination` metadata as JSON), and
// `_partial_update_fields`.
#pragma once

#include "troupe/models/model.hpp"

namespace troupe::models {

class dsg_engine {
public:
  explicit dsg_engine(std::shared_ptr<const model> m);

  status create(db::connection& c, const google::protobuf::Message& req, google::protobuf::Message& resp) const;
  status retrieve(db::connection& c, int64_t id, google::protobuf::Message& resp) const;
  status update(db::connection& c, const google::protobuf::Message& req, google::protobuf::Message& resp) const;
  status partial_update(db::connection& c, const google::protobuf::Message& req,
                        google::protobuf::Message& resp) const;
  status destroy(db::connection& c, int64_t id) const;
  // resp: a repeated field of the response message (results) and count.
  status list(db::connection& c, const call& k, const google::protobuf::Message& req,
              google::protobuf::Message& resp) const;
  status stream(db::connection& c, const call& k, const google::protobuf::Message& req,
                google::protobuf::Message& scratch, const std::function<bool()>& emit) const;

private:
  std::unique_ptr<google::protobuf::Message> blank() const;
  status write(db::connection& c, const google::protobuf::Message& req, const std::vector<const column*>& masked,
               google::protobuf::Message& resp) const;

  std::shared_ptr<const model> m_;
  engine e_;
};

template <class Request, class Response, class ListReq, class ListResp, class StreamReq, class RetrieveReq,
          class PartialReq, class DestroyReq>
troupe::service dsg_service(caf::actor_system& sys, caf::actor pool, std::shared_ptr<const model> m,
                            std::string service_name = "") {
  m->validate_declaration();
  check_table_now(sys, pool, *m);
  auto e = std::make_shared<const dsg_engine>(m);
  const auto* d = m->descriptor();
  if (service_name.empty())
    service_name = d->file()->package() + "." + d->name() + "Controller";
  troupe::service svc{service_name};
  using conn = db::connection;
  auto reply = [](Response&& out, const status& st) {
    return st.ok() ? result<Response>(std::move(out)) : result<Response>(st);
  };
  svc.unary<Request, Response>("Create", troupe::blocking(pool, [e, reply](call&, const Request& r, conn& c) {
    Response out;
    auto st = e->create(c, r, out);
    return reply(std::move(out), st);
  }));
  svc.unary<ListReq, ListResp>("List",
                               troupe::blocking(pool, [e](call& k, const ListReq& r, conn& c) -> result<ListResp> {
                                 ListResp out;
                                 auto st = e->list(c, k, r, out);
                                 return st.ok() ? result<ListResp>(std::move(out)) : result<ListResp>(st);
                               }));
  svc.server_stream<StreamReq, Response>(
    "Stream", troupe::blocking(pool, [e](call& k, const StreamReq& r, conn& c, writer<Response>& w) -> status {
      Response scratch;
      return e->stream(c, k, r, scratch, [&] { return w.write(scratch); });
    }));
  svc.unary<RetrieveReq, Response>("Retrieve",
                                   troupe::blocking(pool, [e, reply](call&, const RetrieveReq& r, conn& c) {
                                     Response out;
                                     auto st = e->retrieve(c, r.id(), out);
                                     return reply(std::move(out), st);
                                   }));
  svc.unary<Request, Response>("Update", troupe::blocking(pool, [e, reply](call&, const Request& r, conn& c) {
    Response out;
    auto st = e->update(c, r, out);
    return reply(std::move(out), st);
  }));
  svc.unary<PartialReq, Response>("PartialUpdate",
                                  troupe::blocking(pool, [e, reply](call&, const PartialReq& r, conn& c) {
                                    Response out;
                                    auto st = e->partial_update(c, r, out);
                                    return reply(std::move(out), st);
                                  }));
  svc.unary<DestroyReq, google::protobuf::Empty>(
    "Destroy",
    troupe::blocking(pool, [e](call&, const DestroyReq& r, conn& c) -> result<google::protobuf::Empty> {
      auto st = e->destroy(c, r.id());
      return st.ok() ? result<google::protobuf::Empty>(google::protobuf::Empty{})
                     : result<google::protobuf::Empty>(st);
    }));
  return svc;
}

}  // namespace troupe::models
