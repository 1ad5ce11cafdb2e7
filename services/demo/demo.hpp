// The demo application: demo.v1 UserService, EventService, LogService and
// ChatService, and the tables they need (demo_schema()).
#pragma once

#include "demo/books_service.hpp"
#include "demo/chat_service.hpp"
#include "demo/demo_schema.hpp"
#include "demo/events_service.hpp"
#include "demo/logs_service.hpp"
#include "demo/users_service.hpp"
