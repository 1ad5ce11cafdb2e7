// TLS and mutual TLS over real channels, with a CA and certificates made by
// openssl for each run; a TLS server never answers plaintext, and a TLS file
// it cannot use stops start-up with one line.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <troupe/actor_system.hpp>

#include "support/probe_service.hpp"
#include "support/test_server.hpp"

namespace troupe::test {
namespace {

namespace fs = std::filesystem;
using bench::v1::Payload;

std::string read(const fs::path& p) {
  std::ifstream in(p);
  std::ostringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

class tls : public ::testing::Test {
protected:
  static inline fs::path dir;

  // A CA, a server certificate for 127.0.0.1 and localhost, a client
  // certificate from the same CA and one from a CA the server does not trust.
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/troupe-tls-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir = tmpl;
    std::string key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    auto issue = [&](const std::string& name, const std::string& ca, const std::string& cn,
                     const std::string& ext) {
      return "openssl req " + key + " -keyout " + name + ".key -out " + name + ".csr -subj /CN=" + cn +
             " && printf '" + ext + "\\n' > " + name + ".ext" + " && openssl x509 -req -in " + name +
             ".csr -CA " + ca + ".pem -CAkey " + ca + ".key -CAcreateserial -days 2 -out " + name +
             ".pem -extfile " + name + ".ext";
    };
    std::string script = "cd " + dir.string() + " && (" +
      "openssl req -x509 " + key + " -keyout ca.key -out ca.pem -days 2 -subj /CN=troupe-test-ca" +
      " && openssl req -x509 " + key + " -keyout other-ca.key -out other-ca.pem -days 2 -subj /CN=other-ca" +
      " && " + issue("server", "ca", "localhost", "subjectAltName=IP:127.0.0.1,DNS:localhost") +
      " && " + issue("client", "ca", "troupe-test-client", "extendedKeyUsage=clientAuth") +
      " && " + issue("stranger", "other-ca", "stranger", "extendedKeyUsage=clientAuth") +
      ") > openssl.log 2>&1";
    ASSERT_EQ(std::system(script.c_str()), 0) << read(dir / "openssl.log");
  }

  static void TearDownTestSuite() { fs::remove_all(dir); }

  static tls_config server_tls(bool mutual) {
    tls_config t;
    t.cert = (dir / "server.pem").string();
    t.key = (dir / "server.key").string();
    if (mutual) {
      t.client_ca = (dir / "ca.pem").string();
      t.require_client_cert = true;
    }
    return t;
  }

  // Starts a server with `t`; stops it when the test ends.
  void start(const tls_config& t) {
    if (!sys) {
      scheduler_config sc;
      sc.max_threads = 2;
      apply_scheduler_config(sc, caf_cfg);
      sys.emplace(caf_cfg);
    }
    srv.reset();
    srv.emplace(*sys, local_config(), t);
    srv->add(probe_service(std::make_shared<probe>()));
    srv->start();
  }

  // A Unary call over a fresh connection with `creds`; bounded by a deadline.
  grpc::Status unary(std::shared_ptr<grpc::ChannelCredentials> creds) {
    grpc::ChannelArguments args;
    args.SetInt("troupe.test.channel", ++channels);
    auto stub = bench::v1::Bench::NewStub(
      grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(srv->port()), creds, args));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    Payload req, resp;
    req.set_data("over tls");
    auto st = stub->Unary(&ctx, req, &resp);
    if (st.ok()) {
      EXPECT_EQ(resp.data(), "over tls");
    }
    return st;
  }

  static std::shared_ptr<grpc::ChannelCredentials> client(const std::string& cert = "") {
    grpc::SslCredentialsOptions o;
    o.pem_root_certs = read(dir / "ca.pem");
    if (!cert.empty()) {
      o.pem_cert_chain = read(dir / (cert + ".pem"));
      o.pem_private_key = read(dir / (cert + ".key"));
    }
    return grpc::SslCredentials(o);
  }

  std::string startup_error_of(const tls_config& t) {
    try {
      start(t);
    } catch (const startup_error& e) {
      return e.what();
    }
    return "started";
  }

  caf::actor_system_config caf_cfg;
  std::optional<caf::actor_system> sys;
  std::optional<troupe::server> srv;  // destroyed before sys
  int channels = 0;
};

TEST_F(tls, a_client_trusting_the_ca_calls_and_plaintext_is_refused) {
  start(server_tls(false));
  EXPECT_TRUE(unary(client()).ok());
  auto plain = unary(grpc::InsecureChannelCredentials());
  EXPECT_FALSE(plain.ok());
  EXPECT_EQ(plain.error_code(), grpc::StatusCode::UNAVAILABLE) << plain.error_message();
}

TEST_F(tls, a_client_not_trusting_the_ca_is_refused) {
  start(server_tls(false));
  grpc::SslCredentialsOptions o;
  o.pem_root_certs = read(dir / "other-ca.pem");
  EXPECT_EQ(unary(grpc::SslCredentials(o)).error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(tls, mutual_tls_requires_a_client_certificate_from_the_ca) {
  start(server_tls(true));
  EXPECT_EQ(unary(client()).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(unary(client("stranger")).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_TRUE(unary(client("client")).ok());
}

TEST_F(tls, a_missing_file_stops_start_up_naming_key_and_path) {
  auto t = server_tls(false);
  t.cert = (dir / "none.pem").string();
  EXPECT_EQ(startup_error_of(t), "[tls] cert: cannot read " + t.cert + ": No such file or directory");
  t = server_tls(true);
  t.client_ca = (dir / "none-ca.pem").string();
  EXPECT_EQ(startup_error_of(t),
            "[tls] client_ca: cannot read " + t.client_ca + ": No such file or directory");
}

TEST_F(tls, a_file_that_is_not_pem_stops_start_up) {
  auto t = server_tls(false);
  t.key = (dir / "server.ext").string();
  EXPECT_EQ(startup_error_of(t), "[tls] key: " + t.key + " is not a PEM file with a PRIVATE KEY block");
  t = server_tls(false);
  t.cert = (dir / "server.key").string();  // PEM, but a key
  EXPECT_EQ(startup_error_of(t), "[tls] cert: " + t.cert + " is not a PEM file with a CERTIFICATE block");
}

TEST_F(tls, a_key_that_does_not_match_the_cert_stops_start_up) {
  auto t = server_tls(false);
  t.key = (dir / "client.key").string();
  auto err = startup_error_of(t);
  EXPECT_NE(err.find("[tls] cert and key do not match"), std::string::npos) << err;
}

}  // namespace
}  // namespace troupe::test
