// demo.v1.BookController (django-socio-grpc's shape) through real channels,
// on SQLite and PostgreSQL, over the same table as BookService.
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include "models_fixture.hpp"

namespace troupe::test {
namespace {

using demo::v1::BookRequest;
using demo::v1::BookResponse;
using grpc::StatusCode;
using troupe::db::backend;


BookRequest request(const std::string& isbn, const std::string& title, const std::string& author, int year,
                    demo::v1::Genre genre, std::optional<std::string> summary = std::nullopt) {
  BookRequest r;
  r.set_isbn(isbn);
  r.set_title(title);
  r.set_author(author);
  r.set_year(year);
  r.set_genre(genre);
  if (summary)
    r.set_summary(*summary);
  return r;
}

google::protobuf::Struct json(const std::string& text) {
  google::protobuf::Struct s;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(text, &s).ok()) << text;
  return s;
}

class controller_calls : public models_app {
protected:
  grpc::Status make(const BookRequest& r, BookResponse* out) {
    grpc::ClientContext ctx;
    bound(ctx);
    return controller_->Create(&ctx, r, out);
  }
  BookResponse made(const BookRequest& r) {
    BookResponse out;
    auto st = make(r, &out);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return out;
  }
  grpc::Status list(const std::string& filters, const std::string& pagination, demo::v1::BookListResponse* out,
                    const std::vector<std::pair<std::string, std::string>>& metadata = {}) {
    grpc::ClientContext ctx;
    bound(ctx);
    for (auto& [k, v] : metadata)
      ctx.AddMetadata(k, v);
    demo::v1::BookListRequest req;
    if (!filters.empty())
      *req.mutable__filters() = json(filters);
    if (!pagination.empty())
      *req.mutable__pagination() = json(pagination);
    return controller_->List(&ctx, req, out);
  }
  std::vector<std::string> isbns(const std::string& filters, const std::string& pagination = "") {
    demo::v1::BookListResponse out;
    auto st = list(filters, pagination, &out);
    EXPECT_TRUE(st.ok()) << filters << ": " << st.error_message();
    std::vector<std::string> v;
    for (auto& b : out.results())
      v.push_back(b.isbn());
    return v;
  }
};

TEST_P(controller_calls, create_retrieve_destroy_share_the_table_with_book_service) {
  BookRequest r = request("c1", "Dune", "Herbert", 1965, demo::v1::FICTION, "sand");
  r.set_id(999);  // ignored
  BookResponse b = made(r);
  EXPECT_NE(b.id(), 999);
  EXPECT_EQ(b.summary(), "sand");
  EXPECT_EQ(b.update_time().back(), 'Z');
  EXPECT_EQ(b.update_time()[10], 'T');
  demo::v1::Book seen;
  ASSERT_TRUE(get(b.id(), &seen).ok());
  EXPECT_EQ(seen.title(), "Dune");
  demo::v1::Book aip = create(book("a1", "AIP"));

  grpc::ClientContext ctx;
  bound(ctx);
  demo::v1::BookRetrieveRequest rr;
  rr.set_id(aip.id());
  BookResponse got;
  ASSERT_TRUE(controller_->Retrieve(&ctx, rr, &got).ok());
  EXPECT_EQ(got.title(), "AIP");
  EXPECT_FALSE(got.has_summary());

  BookResponse dup;
  EXPECT_EQ(make(request("c1", "x", "y", 1, demo::v1::POETRY), &dup).error_code(), StatusCode::ALREADY_EXISTS);
  auto st = make(request("c2", "", "y", 1, demo::v1::POETRY), &dup);
  EXPECT_EQ(st.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("title"), std::string::npos);

  grpc::ClientContext d1;
  bound(d1);
  demo::v1::BookDestroyRequest dr;
  dr.set_id(aip.id());
  google::protobuf::Empty e;
  ASSERT_TRUE(controller_->Destroy(&d1, dr, &e).ok());
  grpc::ClientContext d2;
  bound(d2);
  EXPECT_EQ(controller_->Destroy(&d2, dr, &e).error_code(), StatusCode::NOT_FOUND);
  grpc::ClientContext r2;
  bound(r2);
  EXPECT_EQ(controller_->Retrieve(&r2, rr, &got).error_code(), StatusCode::NOT_FOUND);
}

TEST_P(controller_calls, update_replaces_and_partial_update_changes_only_named_fields) {
  BookResponse b = made(request("p1", "Old", "Auth", 1999, demo::v1::SCIENCE, "sum"));
  BookRequest full = request("p1b", "New", "Writer", 2001, demo::v1::HISTORY);
  full.set_id(b.id());
  grpc::ClientContext u1;
  bound(u1);
  BookResponse u;
  ASSERT_TRUE(controller_->Update(&u1, full, &u).ok());
  EXPECT_EQ(u.isbn(), "p1b");
  EXPECT_FALSE(u.has_summary());
  full.set_id(12345);
  grpc::ClientContext u2;
  bound(u2);
  EXPECT_EQ(controller_->Update(&u2, full, &u).error_code(), StatusCode::NOT_FOUND);

  auto partial = [&](std::vector<std::string> fields, const std::string& title, BookResponse* out) {
    grpc::ClientContext ctx;
    bound(ctx);
    demo::v1::BookPartialUpdateRequest p;
    p.set_id(b.id());
    p.set_title(title);
    p.set_author("not named");
    for (auto& f : fields)
      p.add__partial_update_fields(f);
    return controller_->PartialUpdate(&ctx, p, out);
  };
  ASSERT_TRUE(partial({"title"}, "Partial", &u).ok());
  EXPECT_EQ(u.title(), "Partial");
  EXPECT_EQ(u.author(), "Writer");
  ASSERT_TRUE(partial({"year"}, "ignored", &u).ok());
  EXPECT_EQ(u.year(), 0);  // named and unset: the default
  EXPECT_EQ(u.title(), "Partial");
  for (auto bad : std::vector<std::vector<std::string>>{{}, {"id"}, {"update_time"}, {"nope"}, {"title", "etag"}})
    EXPECT_EQ(partial(bad, "x", &u).error_code(), StatusCode::INVALID_ARGUMENT);
  demo::v1::Book after;
  ASSERT_TRUE(get(b.id(), &after).ok());
  EXPECT_EQ(after.title(), "Partial");
}

TEST_P(controller_calls, list_filters_ordering_pagination_and_metadata) {
  made(request("l1", "A", "Le Guin", 1969, demo::v1::FICTION));
  made(request("l2", "B", "Le Guin", 1974, demo::v1::FICTION, "s"));
  made(request("l3", "C", "Le Guin", 1974, demo::v1::SCIENCE));
  made(request("l4", "A", "Other", 1974, demo::v1::FICTION));
  using v = std::vector<std::string>;
  EXPECT_EQ(isbns(R"({"genre": "FICTION", "author": "Le Guin"})"), (v{"l1", "l2"}));
  EXPECT_EQ(isbns(R"({"ordering": "-year,title"})"), (v{"l4", "l2", "l3", "l1"}));
  EXPECT_EQ(isbns(R"({"summary": null, "year": 1974})"), (v{"l3", "l4"}));
  EXPECT_EQ(isbns(R"({"ordering": "title"})", R"({"page": 2, "page_size": 3})"), (v{"l3"}));
  demo::v1::BookListResponse out;
  ASSERT_TRUE(list(R"({"year": 1974})", R"({"page_size": 2})", &out).ok());
  EXPECT_EQ(out.count(), 3);
  EXPECT_EQ(out.results_size(), 2);
  EXPECT_EQ(list("", R"({"page": 3, "page_size": 2})", &out).error_code(), StatusCode::NOT_FOUND);
  out.Clear();
  ASSERT_TRUE(list(R"({"isbn": "none"})", R"({"page": 1})", &out).ok());
  EXPECT_EQ(out.count(), 0);
  for (const char* bad : {R"({"nope": 1})", R"({"update_time": "x"})", R"({"year": "1974"})", R"({"genre": "NOVEL"})",
                          R"({"ordering": "summary"})", R"({"isbn": null})", R"({"title": "x' OR 1=1 --"})"}) {
    out.Clear();
    auto st = list(bad, "", &out);
    if (std::string(bad).find("OR 1=1") != std::string::npos) {
      EXPECT_TRUE(st.ok());
      EXPECT_EQ(out.count(), 0);
    } else {
      EXPECT_EQ(st.error_code(), StatusCode::INVALID_ARGUMENT) << bad;
    }
  }
  // DSG's metadata form; the fields win when both are given.
  out.Clear();
  ASSERT_TRUE(list("", "", &out, {{"filters", R"({"author": "Other"})"}, {"pagination", R"({"page_size": 1})"}}).ok());
  ASSERT_EQ(out.results_size(), 1);
  EXPECT_EQ(out.results(0).isbn(), "l4");
  out.Clear();
  ASSERT_TRUE(list(R"({"isbn": "l1"})", "", &out, {{"filters", R"({"author": "Other"})"}}).ok());
  ASSERT_EQ(out.results_size(), 1);
  EXPECT_EQ(out.results(0).isbn(), "l1");
  EXPECT_EQ(list("", "", &out, {{"filters", "not json"}}).error_code(), StatusCode::INVALID_ARGUMENT);

  grpc::ClientContext ctx;
  bound(ctx);
  demo::v1::BookStreamRequest sr;
  *sr.mutable__filters() = json(R"({"author": "Le Guin", "ordering": "-title"})");
  auto reader = controller_->Stream(&ctx, sr);
  v streamed;
  for (BookResponse b; reader->Read(&b);)
    streamed.push_back(b.isbn());
  EXPECT_TRUE(reader->Finish().ok());
  EXPECT_EQ(streamed, (v{"l3", "l2", "l1"}));
}

INSTANTIATE_TEST_SUITE_P(backends, controller_calls, ::testing::Values(backend::sqlite, backend::postgresql),
                         troupe::db::testing::backend_name);

}  // namespace
}  // namespace troupe::test
