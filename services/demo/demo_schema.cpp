// The same SQL runs on SQLite and PostgreSQL. Ids come from demo_counters
// rather than an auto-increment column, which the two spell differently.
#include "demo_schema.hpp"

#include "books_service.hpp"

namespace troupe::services {

std::vector<troupe::db::migration> demo_schema() {
  return {
    {100, "CREATE TABLE demo_counters (name TEXT PRIMARY KEY, last_id BIGINT NOT NULL);"
          " INSERT INTO demo_counters (name, last_id) VALUES ('users', 0);"
          " CREATE TABLE demo_users (id BIGINT PRIMARY KEY, name TEXT NOT NULL,"
          " email TEXT NOT NULL UNIQUE)"},
    {101, "CREATE TABLE demo_logs (message TEXT NOT NULL, level TEXT NOT NULL)"},
    // event_count numbers each user's events 1, 2, 3... as they commit, so a
    // live subscriber can put them back in order (see events_service.cpp).
    {102, "INSERT INTO demo_counters (name, last_id) VALUES ('events', 0);"
          " ALTER TABLE demo_users ADD COLUMN event_count BIGINT NOT NULL DEFAULT 0;"
          " CREATE TABLE demo_events (id BIGINT PRIMARY KEY,"
          " user_id BIGINT NOT NULL REFERENCES demo_users (id), seq BIGINT NOT NULL,"
          " type TEXT NOT NULL, data TEXT NOT NULL, created_at_ms BIGINT NOT NULL);"
          " CREATE INDEX demo_events_by_user ON demo_events (user_id, id)"},
    {103, "CREATE TABLE demo_chat_messages (user_id BIGINT NOT NULL, text TEXT NOT NULL,"
          " sent_at BIGINT NOT NULL)"},
    // demo.v1.Book's table, generated from its declaration (books_service.cpp).
    books_model()->migration(104),
  };
}

}  // namespace troupe::services
