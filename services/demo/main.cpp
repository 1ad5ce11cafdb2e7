// troupe — the demo server (demo.v1 users, events, logs, chat and books) on troupe::app;
// `troupe --help` lists its commands.
#include <troupe/app.hpp>

#include "demo/demo.hpp"

int main(int argc, char** argv) {
  troupe::app app{"troupe"};
  app.description("an actor-model gRPC server, serving the demo services");
  app.migrations(troupe::services::demo_schema());
  app.services([](troupe::app_context& ctx) {
    bool keys = ctx.config().auth.checks_keys();
    return std::vector<troupe::service>{
      troupe::services::users_service(ctx.db(), keys),
      troupe::services::events_service(ctx.system(), ctx.db()),
      troupe::services::logs_service(ctx.db()),
      troupe::services::chat_service(ctx.db()),
      troupe::services::book_service(ctx.system(), ctx.db()),
      troupe::services::book_controller(ctx.system(), ctx.db()),
    };
  });
  return app.run(argc, argv);
}
