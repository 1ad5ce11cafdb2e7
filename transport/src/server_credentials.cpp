#include "server_credentials.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "troupe/server.hpp"

namespace troupe::detail {

namespace {

// The file's text, checked to hold a PEM block whose label ends in `label`
// ("CERTIFICATE", "PRIVATE KEY"). gRPC would otherwise fail later, far from
// the cause, or not at all until a client connects.
std::string read_pem(const char* key, const std::string& path, const char* label) {
  auto fail = [&](const std::string& why) {
    throw startup_error(std::string("[tls] ") + key + ": " + why);
  };
  std::ifstream in(path, std::ios::binary);
  if (!in)
    fail("cannot read " + path + ": " + std::strerror(errno));
  std::ostringstream buf;
  buf << in.rdbuf();
  auto text = buf.str();
  auto begin = text.find("-----BEGIN ");
  auto end = begin == std::string::npos ? begin : text.find("-----", begin + 11);
  if (end == std::string::npos || text.compare(end - std::strlen(label), std::strlen(label), label) != 0)
    fail(path + " is not a PEM file with a " + label + " block");
  return text;
}

}  // namespace

std::shared_ptr<grpc::ServerCredentials> server_credentials(const tls_config& tls) {
  if (!tls.enabled())
    return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions opts;
  auto cert = read_pem("cert", tls.cert, "CERTIFICATE");
  opts.pem_key_cert_pairs.push_back({read_pem("key", tls.key, "PRIVATE KEY"), cert});
  if (!tls.client_ca.empty()) {
    opts.pem_root_certs = read_pem("client_ca", tls.client_ca, "CERTIFICATE");
    opts.client_certificate_request =
      tls.require_client_cert ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                              : GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(opts);
}

}  // namespace troupe::detail
