// The broker variables of issue 12 that the client reads: node order and
// TLS files. Bad values name their variable; nothing is connected here.
#include <beacon/amqp/client.hpp>

#include <gtest/gtest.h>

#include "scoped_env.hpp"

#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>

namespace beacon::amqp {
namespace {

using test::ScopedEnv;

template <typename F>
void expect_names(F&& read, const std::string& variable) {
  try {
    read();
    ADD_FAILURE() << "accepted a bad " << variable;
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(variable), std::string::npos) << e.what();
  }
}

TEST(NodeOrderFromEnv, RandomByDefaultListedOnRequest) {
  {
    ScopedEnv unset("BEACON_AMQP_NODE_ORDER", std::nullopt);
    EXPECT_EQ(node_order_from_env(), NodeOrder::random_start);
  }
  {
    ScopedEnv random("BEACON_AMQP_NODE_ORDER", "random");
    EXPECT_EQ(node_order_from_env(), NodeOrder::random_start);
  }
  ScopedEnv listed("BEACON_AMQP_NODE_ORDER", "listed");
  EXPECT_EQ(node_order_from_env(), NodeOrder::listed);
}

TEST(NodeOrderFromEnv, RejectsAnythingElse) {
  ScopedEnv bad("BEACON_AMQP_NODE_ORDER", "first");
  expect_names([] { node_order_from_env(); }, "BEACON_AMQP_NODE_ORDER");
}

TEST(TlsFilesFromEnv, NothingSetMeansSystemStoreAndNoClientCertificate) {
  ScopedEnv ca("BEACON_AMQP_CA_FILE", std::nullopt), cert("BEACON_AMQP_CERT_FILE", std::nullopt),
      key("BEACON_AMQP_KEY_FILE", std::nullopt);
  const TlsFiles files = tls_files_from_env();
  EXPECT_TRUE(files.ca_file.empty());
  EXPECT_TRUE(files.cert_file.empty());
  EXPECT_TRUE(files.key_file.empty());
}

TEST(TlsFilesFromEnv, ReadableFilesAreTaken) {
  ScopedEnv ca("BEACON_AMQP_CA_FILE", "/dev/null"), cert("BEACON_AMQP_CERT_FILE", "/dev/null"),
      key("BEACON_AMQP_KEY_FILE", "/dev/null");
  const TlsFiles files = tls_files_from_env();
  EXPECT_EQ(files.ca_file, "/dev/null");
  EXPECT_EQ(files.key_file, "/dev/null");
}

TEST(TlsFilesFromEnv, UnreadableFileOrCertWithoutKeyNamesTheVariable) {
  {
    ScopedEnv ca("BEACON_AMQP_CA_FILE", "/nonexistent/ca.pem");
    expect_names([] { tls_files_from_env(); }, "BEACON_AMQP_CA_FILE");
  }
  ScopedEnv ca("BEACON_AMQP_CA_FILE", std::nullopt), cert("BEACON_AMQP_CERT_FILE", "/dev/null"),
      key("BEACON_AMQP_KEY_FILE", std::nullopt);
  expect_names([] { tls_files_from_env(); }, "BEACON_AMQP_KEY_FILE");
}

TEST(ClientOptions, AListThatDisagreesIsRefusedBeforeAnyConnect) {
  ClientOptions o;
  o.url = "amqp://a:x@r1/v,amqp://a:y@r2/v";
  EXPECT_THROW(Client{o}, std::invalid_argument);
}

}  // namespace
}  // namespace beacon::amqp
