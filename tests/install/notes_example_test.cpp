// The notes example (docs/examples/notes), built by a separate CMake project
// against an installed Troupe, as a user would: $NOTES_BIN serve answers
// NoteService through a real channel with its notes in SQLite, serves health
// and reflection, exits 0 on SIGTERM; check-config and apikey create work.
// Run by `make install-check` and `make deb-check`, which set NOTES_BIN, and
// by ctest against the example built in this tree (notes_example_in_tree).
#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "app/troupe_process.hpp"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "notes.grpc.pb.h"
#include "support/temp_folder.hpp"

namespace troupe::test {
namespace {

using namespace std::chrono_literals;

std::string notes_bin() {
  const char* bin = std::getenv("NOTES_BIN");
  return bin ? bin : "";
}

std::chrono::system_clock::time_point deadline() {
  return std::chrono::system_clock::now() + 10s;
}

class notes_example : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_FALSE(notes_bin().empty()) << "set NOTES_BIN to the notes example binary (make install-check)";
    ASSERT_TRUE(std::filesystem::exists(notes_bin())) << notes_bin();
    std::ofstream(config) << "[server]\nport = 0\nshutdown_grace_s = 1\ntransport_threads = 1\n"
                             "[scheduler]\nmax_threads = 2\n"
                             "[database]\nurl = \"sqlite://" << db << "\"\n";
  }

  std::shared_ptr<grpc::Channel> channel(int port) const {
    return grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials());
  }

  temp_folder dir{"troupe-notes"};
  std::string config = dir / "notes.toml";
  std::string db = dir / "notes.db";
};

TEST_F(notes_example, serves_notes_health_and_reflection_and_exits_0_on_sigterm) {
  troupe_process notes(notes_bin(), {"serve", "--config", config, "--port", "0"}, {});
  int port = notes.wait_listening(20s);
  ASSERT_NE(port, 0) << "no 'listening on' line; stdout: " << notes.stdout_text()
                     << "\nstderr: " << notes.stderr_text();
  auto ch = channel(port);
  auto stub = notes::v1::NoteService::NewStub(ch);

  // AddNote writes through the database pool, GetNote reads it back.
  std::vector<notes::v1::Note> added;
  for (std::string body : {"first note", "second note"}) {
    grpc::ClientContext ctx;
    ctx.set_deadline(deadline());
    notes::v1::AddNoteRequest req;
    req.set_body(body);
    notes::v1::Note note;
    auto st = stub->AddNote(&ctx, req, &note);
    ASSERT_TRUE(st.ok()) << st.error_code() << ": " << st.error_message();
    EXPECT_EQ(note.body(), body);
    added.push_back(note);
  }
  EXPECT_NE(added[0].id(), added[1].id());
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(deadline());
    notes::v1::GetNoteRequest req;
    req.set_id(added[1].id());
    notes::v1::Note note;
    auto st = stub->GetNote(&ctx, req, &note);
    ASSERT_TRUE(st.ok()) << st.error_code() << ": " << st.error_message();
    EXPECT_EQ(note.id(), added[1].id());
    EXPECT_EQ(note.body(), "second note");
  }
  EXPECT_TRUE(std::filesystem::exists(db)) << "the notes are not in " << db;

  // ListNotes streams both, oldest first.
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(deadline());
    notes::v1::ListNotesRequest req;
    auto stream = stub->ListNotes(&ctx, req);
    std::vector<std::string> bodies;
    for (notes::v1::Note note; stream->Read(&note);)
      bodies.push_back(note.body());
    auto st = stream->Finish();
    ASSERT_TRUE(st.ok()) << st.error_code() << ": " << st.error_message();
    EXPECT_EQ(bodies, (std::vector<std::string>{"first note", "second note"}));
  }

  // The standard health service answers SERVING for the whole server.
  {
    auto health = grpc::health::v1::Health::NewStub(ch);
    grpc::ClientContext ctx;
    ctx.set_deadline(deadline());
    grpc::health::v1::HealthCheckRequest req;
    grpc::health::v1::HealthCheckResponse resp;
    auto st = health->Check(&ctx, req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_code() << ": " << st.error_message();
    EXPECT_EQ(resp.status(), grpc::health::v1::HealthCheckResponse::SERVING);
  }

  // Server reflection lists the example's service (what grpcurl relies on).
  {
    auto reflection = grpc::reflection::v1alpha::ServerReflection::NewStub(ch);
    grpc::ClientContext ctx;
    ctx.set_deadline(deadline());
    auto stream = reflection->ServerReflectionInfo(&ctx);
    grpc::reflection::v1alpha::ServerReflectionRequest req;
    req.set_list_services("");
    ASSERT_TRUE(stream->Write(req));
    grpc::reflection::v1alpha::ServerReflectionResponse resp;
    bool answered = stream->Read(&resp);
    stream->WritesDone();
    auto st = stream->Finish();
    ASSERT_TRUE(answered && st.ok()) << st.error_code() << ": " << st.error_message();
    std::vector<std::string> names;
    for (auto& svc : resp.list_services_response().service())
      names.push_back(svc.name());
    EXPECT_NE(std::find(names.begin(), names.end(), "notes.v1.NoteService"), names.end())
      << testing::PrintToString(names);
  }

  notes.signal(SIGTERM);
  auto code = notes.wait_exit(10s);
  ASSERT_TRUE(code.has_value()) << "still running 10 s after SIGTERM, or killed; stderr: " << notes.stderr_text();
  EXPECT_EQ(*code, 0) << notes.stderr_text();
}

TEST_F(notes_example, check_config_prints_the_effective_configuration) {
  troupe_process check(notes_bin(), {"check-config", config}, {});
  auto code = check.wait_exit(30s);
  ASSERT_TRUE(code.has_value()) << check.stderr_text();
  EXPECT_EQ(*code, 0) << check.stderr_text();
  auto out = check.stdout_text();
  // The file's values and the defaults it left out, as TOML.
  EXPECT_NE(out.find("[server]"), std::string::npos) << out;
  EXPECT_NE(out.find("[database]"), std::string::npos) << out;
  EXPECT_NE(out.find("sqlite://" + db), std::string::npos) << out;
  EXPECT_NE(out.find("shutdown_grace_s = 1"), std::string::npos) << out;
}

TEST_F(notes_example, apikey_create_prints_a_key) {
  troupe_process create(notes_bin(), {"apikey", "create", "--user", "alice", "--config", config}, {});
  auto code = create.wait_exit(30s);
  ASSERT_TRUE(code.has_value()) << create.stderr_text();
  EXPECT_EQ(*code, 0) << create.stderr_text();
  // The key is the last line: 64 hex digits.
  auto out = create.stdout_text();
  EXPECT_TRUE(std::regex_search(out, std::regex("(^|\n)[0-9a-f]{64}\n$"))) << out;
}

// [notes] is the example's own section (app.setting): checked like Troupe's.
TEST_F(notes_example, an_unknown_key_in_its_own_section_is_one_line_naming_file_and_line) {
  std::ofstream(config, std::ios::app) << "[notes]\nmax_bdy = 10\n";
  troupe_process check(notes_bin(), {"serve", "--config", config}, {});
  auto code = check.wait_exit(30s);
  ASSERT_TRUE(code.has_value()) << check.stderr_text();
  EXPECT_EQ(*code, 2);
  EXPECT_EQ(check.stderr_text(),
            "notes: " + config + ":10:1: [notes] max_bdy: unknown key (did you mean 'max_body'?)\n");
}

TEST_F(notes_example, its_own_setting_comes_from_the_environment_and_reaches_the_handler) {
  troupe_process check(notes_bin(), {"check-config", config}, {"TROUPE_NOTES_MAX_BODY=4"});
  ASSERT_EQ(check.wait_exit(30s), std::optional<int>(0)) << check.stderr_text();
  EXPECT_NE(check.stdout_text().find("[notes]\nmax_body = 4\n"), std::string::npos) << check.stdout_text();

  troupe_process notes(notes_bin(), {"serve", "--config", config, "--port", "0"}, {"TROUPE_NOTES_MAX_BODY=4"});
  int port = notes.wait_listening(20s);
  ASSERT_NE(port, 0) << notes.stderr_text();
  auto stub = notes::v1::NoteService::NewStub(channel(port));
  for (std::string body : {"four", "fiver"}) {
    grpc::ClientContext ctx;
    ctx.set_deadline(deadline());
    notes::v1::AddNoteRequest req;
    req.set_body(body);
    notes::v1::Note note;
    auto st = stub->AddNote(&ctx, req, &note);
    if (body.size() <= 4)
      EXPECT_TRUE(st.ok()) << st.error_message();
    else
      EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << st.error_message();
  }
  notes.signal(SIGTERM);
  EXPECT_EQ(notes.wait_exit(10s), std::optional<int>(0)) << notes.stderr_text();
}

}  // namespace
}  // namespace troupe::test
