#pragma once

#include <troupe/service.hpp>

namespace troupe::services {

// demo.v1.ChatService (proto/demo/v1/chat.proto): each message stored, then
// acknowledged, in order. Not authenticated yet.
troupe::service chat_service(caf::actor pool);

}  // namespace troupe::services
