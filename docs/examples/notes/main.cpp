// notes: the example of docs/getting-started.md. One table, three handlers
// written the three ways Troupe offers: a sync handler (blocking code on a
// database worker), a behavior handler (the call's actor asks the pool and
// replies) and a stream written as a loop.
#include <troupe/app.hpp>

#include "notes.pb.h"

namespace {

using notes::v1::AddNoteRequest;
using notes::v1::GetNoteRequest;
using notes::v1::ListNotesRequest;
using notes::v1::Note;

Note make_note(int64_t id, std::string body) {
  Note n;
  n.set_id(id);
  n.set_body(std::move(body));
  return n;
}

troupe::service notes_service(caf::actor db, int64_t max_body) {
  troupe::service svc{"notes.v1.NoteService"};

  // Sync: plain blocking code, run on a database worker with the call's deadline.
  svc.unary<AddNoteRequest, Note>("AddNote", troupe::blocking(db,
    [max_body](troupe::call&, const AddNoteRequest& req, troupe::db::connection& c) -> troupe::result<Note> {
      if (req.body().empty())
        return troupe::invalid_argument("body must not be empty");
      if (static_cast<int64_t>(req.body().size()) > max_body)
        return troupe::invalid_argument("body is longer than " + std::to_string(max_body) + " bytes");
      auto [id] = c.fetch_one<int64_t>("insert", "INSERT INTO notes (body) VALUES (?) RETURNING id", req.body());
      return make_note(id, req.body());
    }));

  // Behavior: the call's actor sends the query to the pool and replies when it is back.
  svc.unary<GetNoteRequest, Note>("GetNote", [db](troupe::unary_actor<GetNoteRequest, Note> self) -> caf::behavior {
    return {
      [=](const GetNoteRequest& req) {
        self.db(
          db,
          [id = req.id()](troupe::db::connection& c) {
            auto [nid, body] = c.fetch_one<int64_t, std::string>(
              "no note " + std::to_string(id), "SELECT id, body FROM notes WHERE id = ?", id);
            return make_note(nid, std::move(body));
          },
          [self](troupe::result<Note> r) { self.reply(std::move(r)); });
      },
    };
  });

  // Stream: a loop on a database worker; write() waits while the client is behind.
  svc.server_stream<ListNotesRequest, Note>("ListNotes", troupe::blocking(db,
    [](troupe::call&, const ListNotesRequest& req, troupe::db::connection& c, troupe::writer<Note>& out) {
      if (req.limit() < 0)
        return troupe::invalid_argument("limit must not be negative");
      int64_t limit = req.limit() > 0 ? req.limit() : INT64_MAX;
      c.query("SELECT id, body FROM notes ORDER BY id LIMIT ?", limit, [&](const troupe::db::row& r) {
        auto [id, body] = r.as<int64_t, std::string>();
        out.write(make_note(id, std::move(body)));  // false once the call is over
      });
      return troupe::status::OK;
    }));

  return svc;
}

}  // namespace

int main(int argc, char** argv) {
  troupe::app app{"notes"};
  app.description("notes kept in SQLite (the Troupe getting-started example)");
  app.migrations({{1001, "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)"}});
  app.setting("notes", "max_body", int64_t{4096});  // [notes] max_body in notes.toml
  app.services([](troupe::app_context& ctx) {
    return std::vector<troupe::service>{notes_service(ctx.db(), ctx.setting<int64_t>("notes", "max_body"))};
  });
  return app.run(argc, argv);
}
