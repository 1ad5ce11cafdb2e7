// The filter parser, order_by and page tokens without a server: the SQL they
// produce and what they refuse.
#include <gtest/gtest.h>

#include "demo/demo.hpp"
#include "models_fixture.hpp"

namespace troupe::test {
namespace {

using troupe::db::backend;
namespace tm = troupe::models;

const tm::model& books() {
  return *troupe::services::books_model();
}

TEST(model_filter, precedence_and_bound_values) {
  auto f = tm::parse_filter(books(), "year = 1 AND genre = FICTION OR author = \"x' --\"", backend::sqlite);
  ASSERT_TRUE(f.ok()) << f.error().error_message();
  EXPECT_EQ(f->sql, "(year = ? AND (genre = ? OR author = ?))");
  ASSERT_EQ(f->params.size(), 3u);
  EXPECT_EQ(std::get<std::string>(f->params[2]), "x' --");
  auto g = tm::parse_filter(books(), "(year = 1 AND genre = FICTION) OR NOT author = \"x\"", backend::sqlite);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->sql, "((year = ? AND genre = ?) OR (NOT author = ?))");
  auto pg = tm::parse_filter(books(), "title < \"b\" AND title = \"a*\"", backend::postgresql);
  ASSERT_TRUE(pg.ok());
  EXPECT_EQ(pg->sql, "(title COLLATE \"C\" < ? AND substr(title, 1, CAST(? AS INTEGER)) = ?)");
  EXPECT_TRUE(tm::parse_filter(books(), "", backend::sqlite)->sql.empty());
  EXPECT_TRUE(tm::parse_filter(books(), "   ", backend::sqlite)->sql.empty());
  std::string deep(200, '(');
  EXPECT_FALSE(tm::parse_filter(books(), deep + "year = 1" + std::string(200, ')'), backend::sqlite).ok());
  EXPECT_FALSE(tm::parse_filter(books(), "title = \"\xff\"", backend::sqlite).ok());
}

TEST(model_order_by, keys_end_with_id) {
  auto k = tm::parse_order_by(books(), "year desc, title");
  ASSERT_TRUE(k.ok());
  ASSERT_EQ(k->size(), 3u);
  EXPECT_EQ((*k)[0].col->name, "year");
  EXPECT_TRUE((*k)[0].desc);
  EXPECT_EQ((*k)[2].col->name, "id");
  EXPECT_FALSE((*k)[2].desc);
  auto d = tm::parse_order_by(books(), "id desc");
  ASSERT_TRUE(d.ok());
  ASSERT_EQ(d->size(), 1u);
  EXPECT_FALSE(tm::parse_order_by(books(), "id, year").ok());
}

TEST(model_page_token, round_trip_and_binding) {
  auto keys = *tm::parse_order_by(books(), "title");
  std::vector<tm::value> last{std::string("Dune"), int64_t{42}};
  auto token = tm::encode_page_token("year > 1", "title", last);
  auto back = tm::decode_page_token(token, "year > 1", "title", keys);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(std::get<std::string>((*back)[0]), "Dune");
  EXPECT_EQ(std::get<int64_t>((*back)[1]), 42);
  EXPECT_FALSE(tm::decode_page_token(token, "year > 2", "title", keys).ok());
  EXPECT_FALSE(tm::decode_page_token(token, "year > 1", "title desc", keys).ok());
  auto other = *tm::parse_order_by(books(), "year");
  EXPECT_FALSE(tm::decode_page_token(tm::encode_page_token("", "year", last), "", "year", other).ok());
  EXPECT_FALSE(tm::decode_page_token("", "", "", keys).ok());
}

}  // namespace
}  // namespace troupe::test
