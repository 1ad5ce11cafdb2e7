// demo.v1.BookService through real channels, on SQLite and PostgreSQL: the
// rules of ../shared/contracts/books.md.
#include <algorithm>
#include <map>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "models_fixture.hpp"

namespace troupe::test {
namespace {

using demo::v1::Book;
using grpc::StatusCode;
using troupe::db::backend;

using books = models_app;

TEST_P(books, create_then_get) {
  Book a = create(book("isbn-1", "Dune", "Herbert", 1965, demo::v1::FICTION, "sand"));
  EXPECT_GT(a.id(), 0);
  EXPECT_EQ(a.title(), "Dune");
  EXPECT_EQ(a.summary(), "sand");
  EXPECT_FALSE(a.etag().empty());
  EXPECT_GT(a.update_time().seconds(), 1'600'000'000);
  Book b = create(book("isbn-2"));
  EXPECT_GT(b.id(), a.id());
  EXPECT_FALSE(b.has_summary());

  Book got;
  ASSERT_TRUE(get(a.id(), &got).ok());
  EXPECT_EQ(got.SerializeAsString(), a.SerializeAsString());
  EXPECT_EQ(get(0, &got).error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(get(-4, &got).error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(get(4242, &got).error_code(), StatusCode::NOT_FOUND);
}

TEST_P(books, output_only_fields_in_a_request_are_ignored) {
  Book b = book("isbn-1");
  b.set_id(777);
  b.set_etag("junk");
  b.mutable_update_time()->set_seconds(5);
  Book made = create(b);
  EXPECT_NE(made.id(), 777);
  EXPECT_NE(made.etag(), "junk");
  EXPECT_GT(made.update_time().seconds(), 5);
}

TEST_P(books, validation_names_the_field_and_writes_nothing) {
  auto expect_invalid = [&](const Book& b, const std::string& field) {
    auto st = try_create(b);
    EXPECT_EQ(st.error_code(), StatusCode::INVALID_ARGUMENT) << field;
    EXPECT_NE(st.error_message().find(field), std::string::npos) << st.error_message();
  };
  expect_invalid(book(""), "isbn");
  expect_invalid(book(std::string(33, 'x')), "isbn");
  expect_invalid(book("i", ""), "title");
  expect_invalid(book("i", "T", ""), "author");
  expect_invalid(book("i", "T", std::string(101, 'a')), "author");
  expect_invalid(book("i", "T", "A", 3001), "year");
  expect_invalid(book("i", "T", "A", -1), "year");
  expect_invalid(book("i", "T", "A", 2000, static_cast<demo::v1::Genre>(9)), "genre");
  expect_invalid(book("i", "T", "A", 2000, demo::v1::FICTION, std::string(2001, 's')), "summary");
  // Characters are code points: 200 two-byte characters are a valid title, 201 are not.
  std::string e200;
  for (int i = 0; i < 200; ++i)
    e200 += "\xC3\xA9";
  expect_invalid(book("i", e200 + "\xC3\xA9"), "title");
  EXPECT_EQ(count("books"), 0);
  Book ok = create(book("i", e200, "A", 0, demo::v1::GENRE_UNSPECIFIED, std::string(2000, 's')));
  EXPECT_EQ(ok.title(), e200);
  create(book(std::string(32, 'x'), "T", "A", 3000));
  EXPECT_EQ(count("books"), 2);
}

TEST_P(books, duplicate_isbn_is_already_exists) {
  create(book("dup"));
  auto st = try_create(book("dup", "Other"));
  EXPECT_EQ(st.error_code(), StatusCode::ALREADY_EXISTS);
  EXPECT_NE(st.error_message().find("isbn"), std::string::npos) << st.error_message();
  EXPECT_EQ(count("books"), 1);
  // An update to a taken isbn too, leaving the row as it was.
  Book other = create(book("other"));
  other.set_isbn("dup");
  EXPECT_EQ(update(other, {"isbn"}).error_code(), StatusCode::ALREADY_EXISTS);
  Book got;
  ASSERT_TRUE(get(other.id(), &got).ok());
  EXPECT_EQ(got.isbn(), "other");
}

TEST_P(books, page_size_rules_and_total_size) {
  seed(1100);
  demo::v1::ListBooksRequest req;
  demo::v1::ListBooksResponse resp;
  req.set_page_size(-1);
  EXPECT_EQ(list(req, &resp).error_code(), StatusCode::INVALID_ARGUMENT);
  req.set_page_size(0);
  ASSERT_TRUE(list(req, &resp).ok());
  EXPECT_EQ(resp.books_size(), 50);
  EXPECT_EQ(resp.total_size(), 0);
  EXPECT_FALSE(resp.next_page_token().empty());
  req.set_page_size(5000);
  resp.Clear();
  ASSERT_TRUE(list(req, &resp).ok());
  EXPECT_EQ(resp.books_size(), 1000);
  req.set_include_total_size(true);
  req.set_filter("year < 1910");
  req.set_page_size(10);
  resp.Clear();
  ASSERT_TRUE(list(req, &resp).ok());
  EXPECT_EQ(resp.books_size(), 10);
  EXPECT_EQ(resp.total_size(), 220);  // 1100 rows, years 1900..1949 evenly
  // Exactly page_size rows until the last page, whose token alone is empty.
  auto all = list_all("year < 1910", "", 22);
  EXPECT_EQ(all.size(), 220u);
}

TEST_P(books, keyset_pages_see_each_surviving_row_once_through_inserts_and_deletes) {
  auto seeded = seed(1234);
  std::set<int64_t> deleted;
  std::map<int64_t, int> seen;
  demo::v1::ListBooksRequest req;
  req.set_page_size(100);
  req.set_order_by("year desc, title");
  int pages = 0, added = 0;
  size_t victim = 0;
  for (;;) {
    demo::v1::ListBooksResponse resp;
    ASSERT_TRUE(list(req, &resp).ok());
    ++pages;
    if (!resp.next_page_token().empty()) {
      EXPECT_EQ(resp.books_size(), 100);
    }
    for (auto& b : resp.books())
      ++seen[b.id()];
    if (resp.next_page_token().empty())
      break;
    // Between pages: new rows in every part of the order, and deletions of
    // rows both seen and not seen yet.
    for (int k = 0; k < 3; ++k, ++added)
      create(book("new-" + std::to_string(added), "title-" + std::to_string(added % 7), "A", 1900 + (added * 17) % 50));
    for (int k = 0; k < 2; ++k) {
      int64_t id = seeded[(victim += 397) % seeded.size()];
      if (deleted.insert(id).second) {
        ASSERT_TRUE(remove(id).ok());
      }
    }
    req.set_page_token(resp.next_page_token());
    ASSERT_LT(pages, 100);
  }
  for (auto& [id, n] : seen)
    EXPECT_EQ(n, 1) << "book " << id << " seen " << n << " times";
  for (int64_t id : seeded)
    if (!deleted.count(id)) {
      EXPECT_EQ(seen.count(id), 1u) << "book " << id << " missing";
    }
  EXPECT_GT(deleted.size(), 10u);
}

TEST_P(books, order_by_sorts_with_an_id_tie_break) {
  seed(60);
  auto all = list_all("", "year desc, title", 7);
  ASSERT_EQ(all.size(), 60u);
  for (size_t i = 1; i < all.size(); ++i) {
    auto& a = all[i - 1];
    auto& b = all[i];
    bool ordered = a.year() > b.year() || (a.year() == b.year() && a.title() < b.title()) ||
                   (a.year() == b.year() && a.title() == b.title() && a.id() < b.id());
    EXPECT_TRUE(ordered) << i;
  }
  auto by_id = ids("", "");
  EXPECT_TRUE(std::is_sorted(by_id.begin(), by_id.end()));
  auto desc = ids("", "id desc");
  EXPECT_TRUE(std::is_sorted(desc.rbegin(), desc.rend()));
  EXPECT_EQ(ids("", " isbn asc ,author").size(), 60u);
  demo::v1::ListBooksRequest req;
  demo::v1::ListBooksResponse resp;
  for (const char* bad : {"summary", "genre", "etag", "nope", "year sideways", "year,", ",year", "year, year"}) {
    req.set_order_by(bad);
    EXPECT_EQ(list(req, &resp).error_code(), StatusCode::INVALID_ARGUMENT) << bad;
  }
}

TEST_P(books, page_tokens_are_bound_to_filter_and_order) {
  seed(30);
  demo::v1::ListBooksRequest req;
  req.set_page_size(5);
  req.set_filter("year >= 1900");
  req.set_order_by("title");
  demo::v1::ListBooksResponse first;
  ASSERT_TRUE(list(req, &first).ok());
  std::string token = first.next_page_token();
  ASSERT_FALSE(token.empty());

  demo::v1::ListBooksResponse resp;
  req.set_page_token(token);
  req.set_page_size(9);  // another page_size is fine
  ASSERT_TRUE(list(req, &resp).ok());
  EXPECT_EQ(resp.books_size(), 9);

  auto expect_invalid = [&](demo::v1::ListBooksRequest r, const std::string& what) {
    demo::v1::ListBooksResponse out;
    EXPECT_EQ(list(r, &out).error_code(), StatusCode::INVALID_ARGUMENT) << what;
  };
  auto other_filter = req;
  other_filter.set_filter("year >= 1901");
  expect_invalid(other_filter, "another filter");
  auto other_order = req;
  other_order.set_order_by("title desc");
  expect_invalid(other_order, "another order");
  for (size_t i = 0; i < token.size(); i += 3) {
    auto tampered = req;
    std::string t = token;
    t[i] = t[i] == 'A' ? 'B' : 'A';
    tampered.set_page_token(t);
    expect_invalid(tampered, "tampered at " + std::to_string(i));
  }
  for (const char* garbage : {"x", "!!!!", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "e30"}) {
    auto g = req;
    g.set_page_token(garbage);
    expect_invalid(g, garbage);
  }
}

TEST_P(books, filter_precedence_or_binds_tighter_than_and) {
  // a: year = 2000, b: genre = FICTION, c: author = "X"
  Book only_c = create(book("1", "T", "X", 1999, demo::v1::HISTORY));
  Book a_and_b = create(book("2", "T", "Y", 2000, demo::v1::FICTION));
  Book a_and_c = create(book("3", "T", "X", 2000, demo::v1::HISTORY));
  create(book("4", "T", "Y", 2000, demo::v1::HISTORY));
  auto tight = ids("year = 2000 AND genre = FICTION OR author = \"X\"");
  auto grouped = ids("(year = 2000 AND genre = FICTION) OR author = \"X\"");
  EXPECT_EQ(tight, (std::vector<int64_t>{a_and_b.id(), a_and_c.id()}));
  EXPECT_EQ(grouped, (std::vector<int64_t>{only_c.id(), a_and_b.id(), a_and_c.id()}));
  EXPECT_EQ(ids("year = 2000 AND (genre = FICTION OR author = \"X\")"), tight);
}

TEST_P(books, filter_values_operators_and_errors) {
  Book dune = create(book("d1", "Dune", "Herbert", 1965, demo::v1::FICTION, ""));
  Book messiah = create(book("d2", "Dune Messiah", "Herbert", 1969, demo::v1::FICTION));
  Book lower = create(book("d3", "dune lower", "Nobody", 2001, demo::v1::POETRY, "s"));
  Book quote = create(book("q", "say \"hi\" \\ bye", "Q", 10, demo::v1::SCIENCE));
  Book inject = create(book("x", "x' OR 1=1 --", "I", 20, demo::v1::HISTORY));
  using v = std::vector<int64_t>;
  EXPECT_EQ(ids("title = \"Dune*\""), (v{dune.id(), messiah.id()}));
  EXPECT_EQ(ids("title = \"Dune\""), (v{dune.id()}));
  EXPECT_EQ(ids("title != \"Dune\" AND author = \"Herbert\""), (v{messiah.id()}));
  EXPECT_EQ(ids("genre = FICTION"), (v{dune.id(), messiah.id()}));
  EXPECT_EQ(ids("genre != FICTION AND year > -1 AND year <= 20"), (v{quote.id(), inject.id()}));
  EXPECT_EQ(ids("summary = null"), (v{messiah.id(), quote.id(), inject.id()}));
  EXPECT_EQ(ids("summary != null"), (v{dune.id(), lower.id()}));
  EXPECT_EQ(ids("summary = \"\""), (v{dune.id()}));
  EXPECT_EQ(ids("NOT genre = FICTION AND -(year < 15)"), (v{lower.id(), inject.id()}));
  EXPECT_EQ(ids("title = \"say \\\"hi\\\" \\\\ bye\""), (v{quote.id()}));
  EXPECT_EQ(ids("title = \"x' OR 1=1 --\""), (v{inject.id()}));
  EXPECT_EQ(ids("title = \"x' OR 1=1 --*\""), (v{inject.id()}));
  EXPECT_EQ(ids("isbn = \"d1\" OR isbn = \"d2\" OR isbn = \"nope\""), (v{dune.id(), messiah.id()}));
  EXPECT_EQ(ids("update_time > \"2020-01-01T00:00:00Z\"").size(), 5u);
  EXPECT_EQ(ids("update_time > \"2020-01-01T02:00:00+02:00\"").size(), 5u);
  EXPECT_EQ(ids("update_time < \"2020-01-01T00:00:00.5-05:30\"").size(), 0u);
  EXPECT_EQ(ids("update_time > \"2999-01-01T00:00:00Z\"").size(), 0u);

  demo::v1::ListBooksRequest req;
  demo::v1::ListBooksResponse resp;
  for (const char* bad :
       {"title = 5", "year = \"5\"", "year = 1.5", "genre = NOVEL", "genre = 1", "nope = 1", "summary < null",
        "year = null", "etag = \"1\"", "id = 1", "title = Dune", "year >", "(year = 1", "year = 1)",
        "year = 1 AND", "year = 1 year = 2", "year : 1", "title = \"open", "title = \"\\n\"",
        "update_time > \"yesterday\"", "update_time > 5", "year = 99999999999999999999", "OR year = 1"}) {
    req.set_filter(bad);
    EXPECT_EQ(list(req, &resp).error_code(), StatusCode::INVALID_ARGUMENT) << bad;
  }
  EXPECT_EQ(count("books"), 5);
}

TEST_P(books, stream_sends_every_match_in_order_up_to_max_rows) {
  seed(300);
  auto stream = [&](const std::string& filter, const std::string& order, int64_t max, grpc::Status* st) {
    grpc::ClientContext ctx;
    bound(ctx);
    demo::v1::StreamBooksRequest req;
    req.set_filter(filter);
    req.set_order_by(order);
    req.set_max_rows(max);
    auto reader = books_->StreamBooks(&ctx, req);
    std::vector<Book> out;
    for (Book b; reader->Read(&b);)
      out.push_back(b);
    *st = reader->Finish();
    return out;
  };
  grpc::Status st;
  auto all = stream("", "", 0, &st);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(all.size(), 300u);
  auto listed = list_all("year < 1920", "year desc, title", 13);
  auto streamed = stream("year < 1920", "year desc, title", 0, &st);
  ASSERT_TRUE(st.ok());
  ASSERT_EQ(streamed.size(), listed.size());
  for (size_t i = 0; i < listed.size(); ++i)
    EXPECT_EQ(streamed[i].id(), listed[i].id());
  EXPECT_EQ(stream("", "id desc", 7, &st).size(), 7u);
  stream("", "", -1, &st);
  EXPECT_EQ(st.error_code(), StatusCode::INVALID_ARGUMENT);
  stream("title = 5", "", 0, &st);
  EXPECT_EQ(st.error_code(), StatusCode::INVALID_ARGUMENT);
}

TEST_P(books, stream_first_book_arrives_and_a_cancel_ends_it) {
  seed(3000);
  grpc::ClientContext ctx;
  bound(ctx);
  demo::v1::StreamBooksRequest req;
  auto reader = books_->StreamBooks(&ctx, req);
  Book b;
  ASSERT_TRUE(reader->Read(&b));
  EXPECT_GT(b.id(), 0);
  ctx.TryCancel();
  while (reader->Read(&b)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), StatusCode::CANCELLED);
  // The server is free for the next call.
  EXPECT_EQ(list_all("year = 1900").size(), 60u);
}

TEST_P(books, update_mask_semantics) {
  Book b = create(book("u1", "Old", "Auth", 1999, demo::v1::SCIENCE, "sum"));
  Book u;
  Book change = b;
  change.set_title("New");
  change.set_author("Ignored");
  ASSERT_TRUE(update(change, {"title"}, &u).ok());
  EXPECT_EQ(u.title(), "New");
  EXPECT_EQ(u.author(), "Auth");
  EXPECT_NE(u.etag(), b.etag());
  EXPECT_GE(u.update_time().seconds() * 1'000'000'000 + u.update_time().nanos(),
            b.update_time().seconds() * 1'000'000'000 + b.update_time().nanos());

  // A masked field left unset takes its default; summary becomes null.
  Book sparse;
  sparse.set_id(b.id());
  ASSERT_TRUE(update(sparse, {"summary", "year", "id", "etag", "update_time"}, &u).ok());
  EXPECT_FALSE(u.has_summary());
  EXPECT_EQ(u.year(), 0);
  EXPECT_EQ(u.title(), "New");

  // Without a mask: the fields set in book.
  Book some;
  some.set_id(b.id());
  some.set_year(1234);
  some.set_summary("");
  ASSERT_TRUE(update(some, {}, &u, false).ok());
  EXPECT_EQ(u.year(), 1234);
  EXPECT_TRUE(u.has_summary());
  EXPECT_EQ(u.genre(), demo::v1::SCIENCE);
  ASSERT_TRUE(update(some, {}, &u, true).ok());  // an empty mask is the same

  // "*" replaces every writable field.
  Book full = book("u1-new", "Full", "Writer", 1);
  full.set_id(b.id());
  ASSERT_TRUE(update(full, {"*"}, &u).ok());
  EXPECT_EQ(u.isbn(), "u1-new");
  EXPECT_EQ(u.genre(), demo::v1::FICTION);
  EXPECT_FALSE(u.has_summary());

  // Errors change nothing.
  Book before;
  ASSERT_TRUE(get(b.id(), &before).ok());
  Book bad = before;
  bad.set_title("");
  auto st = update(bad, {"title"});
  EXPECT_EQ(st.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("title"), std::string::npos);
  EXPECT_EQ(update(before, {"*", "title"}).error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(update(before, {"nope"}).error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(update(before, {"title.x"}).error_code(), StatusCode::INVALID_ARGUMENT);
  Book unset = before;
  EXPECT_EQ(update(unset, {"isbn", "title"}).error_code(), StatusCode::OK);
  unset.clear_isbn();
  EXPECT_EQ(update(unset, {"isbn"}).error_code(), StatusCode::INVALID_ARGUMENT);
  Book after;
  ASSERT_TRUE(get(b.id(), &after).ok());
  EXPECT_EQ(after.title(), before.title());
  EXPECT_EQ(after.isbn(), before.isbn());

  Book missing = before;
  missing.set_id(99999);
  missing.clear_etag();
  EXPECT_EQ(update(missing, {"title"}).error_code(), StatusCode::NOT_FOUND);
  missing.set_id(0);
  EXPECT_EQ(update(missing, {"title"}).error_code(), StatusCode::INVALID_ARGUMENT);
}

TEST_P(books, concurrent_updates_of_different_fields_both_survive) {
  Book b = create(book("c1", "t", "a"));
  auto worker = [&](int n, const std::string& field) {
    auto stub = demo::v1::BookService::NewStub(channel(n));
    for (int i = 0; i < 100; ++i) {
      grpc::ClientContext ctx;
      bound(ctx);
      demo::v1::UpdateBookRequest req;
      req.mutable_book()->set_id(b.id());
      if (field == "title")
        req.mutable_book()->set_title("title-" + std::to_string(i));
      else
        req.mutable_book()->set_author("author-" + std::to_string(i));
      req.mutable_update_mask()->add_paths(field);
      Book out;
      auto st = stub->UpdateBook(&ctx, req, &out);
      EXPECT_TRUE(st.ok()) << st.error_message();
    }
  };
  std::thread t1(worker, 1, "title");
  std::thread t2(worker, 2, "author");
  t1.join();
  t2.join();
  Book got;
  ASSERT_TRUE(get(b.id(), &got).ok());
  EXPECT_EQ(got.title(), "title-99");
  EXPECT_EQ(got.author(), "author-99");
  EXPECT_EQ(got.etag(), "201");  // 1 + 200 updates
}

TEST_P(books, stale_etag_is_aborted_and_changes_nothing) {
  Book b = create(book("e1", "first"));
  Book v2;
  Book change = b;
  change.set_title("second");
  ASSERT_TRUE(update(change, {"title"}, &v2).ok());  // b.etag was current
  Book stale = b;
  stale.set_title("third");
  auto st = update(stale, {"title"});
  EXPECT_EQ(st.error_code(), StatusCode::ABORTED) << st.error_message();
  stale.set_etag("garbage");
  EXPECT_EQ(update(stale, {"title"}).error_code(), StatusCode::ABORTED);
  Book got;
  ASSERT_TRUE(get(b.id(), &got).ok());
  EXPECT_EQ(got.SerializeAsString(), v2.SerializeAsString());

  EXPECT_EQ(remove(b.id(), b.etag()).error_code(), StatusCode::ABORTED);
  ASSERT_TRUE(get(b.id(), &got).ok());
  EXPECT_TRUE(remove(b.id(), v2.etag()).ok());
  EXPECT_EQ(get(b.id(), &got).error_code(), StatusCode::NOT_FOUND);
  EXPECT_EQ(remove(b.id()).error_code(), StatusCode::NOT_FOUND);
  EXPECT_TRUE(remove(b.id(), "", true).ok());
  EXPECT_TRUE(remove(b.id(), "5", true).ok());
  EXPECT_EQ(remove(0).error_code(), StatusCode::INVALID_ARGUMENT);
}

INSTANTIATE_TEST_SUITE_P(backends, books, ::testing::Values(backend::sqlite, backend::postgresql),
                         troupe::db::testing::backend_name);

}  // namespace
}  // namespace troupe::test
