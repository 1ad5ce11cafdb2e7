// A second model (modeltest.v1.Gadget: bool, uint32, a nullable int, its own
// names for update_time and etag) served by the same engine, and the
// start-up check of a table that disagrees with its message.
#include <gtest/gtest.h>

#include "models_fixture.hpp"

namespace troupe::test {
namespace {

using modeltest::v1::Gadget;
using grpc::StatusCode;
using troupe::db::backend;

using gadgets = models_app;

Gadget gadget(const std::string& name, int64_t price, bool in_stock, modeltest::v1::Color color,
              std::optional<int32_t> rating = std::nullopt) {
  Gadget g;
  g.set_name(name);
  g.set_price_cents(price);
  g.set_in_stock(in_stock);
  g.set_color(color);
  g.set_weight_grams(4'000'000'000u);
  if (rating)
    g.set_rating(*rating);
  return g;
}

TEST_P(gadgets, the_same_engine_serves_another_model) {
  auto make = [&](const Gadget& g) {
    grpc::ClientContext ctx;
    bound(ctx);
    modeltest::v1::CreateGadgetRequest req;
    *req.mutable_gadget() = g;
    Gadget out;
    auto st = gadgets_->CreateGadget(&ctx, req, &out);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return out;
  };
  Gadget a = make(gadget("alpha", 100, true, modeltest::v1::RED, 5));
  Gadget b = make(gadget("beta", 250, false, modeltest::v1::GREEN));
  Gadget c = make(gadget("gamma", 50, true, modeltest::v1::GREEN, -2));
  EXPECT_EQ(a.weight_grams(), 4'000'000'000u);
  EXPECT_EQ(a.version(), "1");
  EXPECT_GT(a.changed().seconds(), 0);
  EXPECT_EQ(a.rating(), 5);
  EXPECT_FALSE(b.has_rating());

  auto list = [&](const std::string& filter, const std::string& order) {
    grpc::ClientContext ctx;
    bound(ctx);
    modeltest::v1::ListGadgetsRequest req;
    req.set_filter(filter);
    req.set_order_by(order);
    req.set_page_size(2);
    req.set_include_total_size(true);
    modeltest::v1::ListGadgetsResponse resp;
    auto st = gadgets_->ListGadgets(&ctx, req, &resp);
    EXPECT_TRUE(st.ok()) << filter << ": " << st.error_message();
    std::vector<int64_t> ids;
    for (auto& g : resp.gadgets())
      ids.push_back(g.id());
    ids.push_back(-resp.total_size());
    return ids;
  };
  using v = std::vector<int64_t>;
  EXPECT_EQ(list("in_stock = true", "price_cents desc"), (v{a.id(), c.id(), -2}));
  EXPECT_EQ(list("color = GREEN AND rating = null", ""), (v{b.id(), -1}));
  EXPECT_EQ(list("rating < 0 OR price_cents > 200", ""), (v{b.id(), c.id(), -2}));
  EXPECT_EQ(list("weight_grams = 4000000000 AND name = \"a*\"", ""), (v{a.id(), -1}));
  EXPECT_EQ(list("", "in_stock, name desc"), (v{b.id(), c.id(), -3}));

  // A FieldMask update under the model's own etag field name.
  grpc::ClientContext ctx;
  bound(ctx);
  modeltest::v1::UpdateGadgetRequest up;
  up.mutable_gadget()->set_id(a.id());
  up.mutable_gadget()->set_version(a.version());
  up.mutable_gadget()->set_in_stock(false);
  up.mutable_update_mask()->add_paths("in_stock");
  Gadget u;
  ASSERT_TRUE(gadgets_->UpdateGadget(&ctx, up, &u).ok());
  EXPECT_FALSE(u.in_stock());
  EXPECT_EQ(u.name(), "alpha");
  EXPECT_EQ(u.version(), "2");
  grpc::ClientContext again;
  bound(again);
  EXPECT_EQ(gadgets_->UpdateGadget(&again, up, &u).error_code(), StatusCode::ABORTED);

  grpc::ClientContext bad;
  bound(bad);
  modeltest::v1::CreateGadgetRequest req;
  *req.mutable_gadget() = gadget("delta", 2'000'000, true, modeltest::v1::RED);
  auto st = gadgets_->CreateGadget(&bad, req, &u);
  EXPECT_EQ(st.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("price_cents"), std::string::npos);
  // Both models live side by side; their ids count separately.
  EXPECT_EQ(create(book("isbn-1")).id(), 1);
}

TEST_P(gadgets, a_table_that_disagrees_with_its_message_stops_start_up) {
  auto r = submit(*pool_, [](troupe::db::connection& c) {
    c.exec("CREATE TABLE gadgets_short (id BIGINT PRIMARY KEY, name TEXT NOT NULL)");
    c.exec("CREATE TABLE gadgets_typed AS SELECT * FROM gadgets WHERE 1 = 0");
    return 0;
  });
  ASSERT_TRUE(r.ok());
  auto check = [&](const std::string& table) -> std::string {
    troupe::models::model m(Gadget::descriptor(), table);
    m.id("id").update_time("changed").etag("version");
    try {
      troupe::models::check_table_now(sys(), pool_->actor(), m);
    } catch (const std::runtime_error& e) {
      return e.what();
    }
    return "";
  };
  auto short_table = check("gadgets_short");
  EXPECT_NE(short_table.find("gadgets_short disagrees with modeltest.v1.Gadget: column"), std::string::npos)
    << short_table;
  EXPECT_NE(short_table.find("missing"), std::string::npos) << short_table;
  EXPECT_EQ(short_table.find('\n'), std::string::npos);
  EXPECT_NE(check("no_such_table").find("does not exist"), std::string::npos);
  EXPECT_EQ(check("gadgets"), "");
  // A message whose field has another type than the column.
  troupe::models::model books_on_gadgets(demo::v1::Book::descriptor(), "gadgets");
  books_on_gadgets.id("id");
  try {
    troupe::models::check_table_now(sys(), pool_->actor(), books_on_gadgets);
    ADD_FAILURE() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("disagrees"), std::string::npos) << e.what();
  }
}

TEST(model_declaration, unsupported_fields_and_bad_declarations_throw) {
  EXPECT_THROW(troupe::models::model(modeltest::v1::ListGadgetsResponse::descriptor(), "x"), std::invalid_argument);
  troupe::models::model m(Gadget::descriptor(), "gadgets");
  EXPECT_THROW(m.id("name"), std::invalid_argument);
  EXPECT_THROW(m.sortable({"note"}), std::invalid_argument);
  EXPECT_THROW(m.range("name", 0, 1), std::invalid_argument);
  EXPECT_THROW(m.required("nope"), std::invalid_argument);
  EXPECT_THROW(m.validate_declaration(), std::invalid_argument);  // no id
  m.id("id");
  auto mig = m.migration(5);
  EXPECT_NE(mig.sql.find("CREATE TABLE gadgets (id BIGINT PRIMARY KEY, name TEXT NOT NULL"), std::string::npos)
    << mig.sql;
  EXPECT_NE(mig.sql.find("note TEXT,"), std::string::npos) << mig.sql;
  troupe::models::model bad_table(Gadget::descriptor(), "gadgets; DROP TABLE x");
  bad_table.id("id");
  EXPECT_THROW(bad_table.migration(1), std::invalid_argument);
}

INSTANTIATE_TEST_SUITE_P(backends, gadgets, ::testing::Values(backend::sqlite, backend::postgresql),
                         troupe::db::testing::backend_name);

}  // namespace
}  // namespace troupe::test
