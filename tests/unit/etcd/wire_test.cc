// Hermetic tests of the etcd client: URL parsing, prefix_end, base64, the JSON codec, and the
// client against fake servers (garbage answers, error bodies, a peer that never answers, refused
// connections). No etcd needed.
#include "etcd/wire.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "etcd/client.h"
#include "integration/prometheus_helpers.h"

namespace dslmodel::etcd {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

struct UrlCase {
  std::string url;
  bool ok;
  std::vector<std::string> endpoints;
  std::string prefix;
  std::string error_part;  // for !ok: a fragment the message must contain
};

TEST(ParseStoreUrl, Table) {
  const std::vector<UrlCase> cases = {
      {"etcd://127.0.0.1:2379/swarm", true, {"http://127.0.0.1:2379"}, "/swarm", ""},
      {"etcd://a:1,b:2,c:3/x/y/z", true, {"http://a:1", "http://b:2", "http://c:3"}, "/x/y/z", ""},
      {"etcd://h:2379/p/", true, {"http://h:2379"}, "/p", ""},
      {"etcd://h:2379/p///", true, {"http://h:2379"}, "/p", ""},
      {"etcd://h:2379", true, {"http://h:2379"}, "/dslmodel", ""},
      {"etcd://h:2379/", true, {"http://h:2379"}, "/dslmodel", ""},
      {"etcd://h/p", true, {"http://h:2379"}, "/p", ""},
      {"ETCD://h:1/p", true, {"http://h:1"}, "/p", ""},
      {"etcd://[::1]:2379/p", true, {"http://[::1]:2379"}, "/p", ""},
      {"etcd://etcd-0.etcd.svc:2379,etcd-1.etcd.svc:2379/dsl",
       true,
       {"http://etcd-0.etcd.svc:2379", "http://etcd-1.etcd.svc:2379"},
       "/dsl",
       ""},
      {"etcd://h:65535/p", true, {"http://h:65535"}, "/p", ""},
      {"http://h:2379/p", false, {}, "", "unsupported scheme 'http'"},
      {"dir:///tmp/x", false, {}, "", "unsupported scheme 'dir'"},
      {"/just/a/path", false, {}, "", "not a URL"},
      {"etcd:///prefix", false, {}, "", "no host"},
      {"etcd://", false, {}, "", "no host"},
      {"etcd://a:1,,b:2/p", false, {}, "", "empty host"},
      {"etcd://a:1,/p", false, {}, "", "empty host"},
      {"etcd://h:/p", false, {}, "", "bad port ''"},
      {"etcd://h:0/p", false, {}, "", "bad port '0'"},
      {"etcd://h:65536/p", false, {}, "", "bad port '65536'"},
      {"etcd://h:12ab/p", false, {}, "", "bad port '12ab'"},
      {"etcd://h:-1/p", false, {}, "", "bad port '-1'"},
      {"etcd://:2379/p", false, {}, "", "no host name"},
      {"etcd://user:pw@h:1/p", false, {}, "", "credentials"},
      {"etcd://h:1/p?x=1", false, {}, "", "query"},
      {"etcd://h p:1/x", false, {}, "", "bad host name"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.url);
    auto r = parse_store_url(c.url);
    ASSERT_EQ(r.ok(), c.ok) << r.status().message();
    if (c.ok) {
      EXPECT_EQ(r->endpoints, c.endpoints);
      EXPECT_EQ(r->prefix, c.prefix);
    } else {
      EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
      EXPECT_NE(r.status().message().find(c.error_part), std::string::npos) << r.status().message();
      EXPECT_NE(r.status().message().find(c.url), std::string::npos) << r.status().message();
    }
  }
}

TEST(PrefixEnd, Table) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"a", "b"},
      {"abc", "abd"},
      {"/dslmodel/work/", "/dslmodel/work0"},
      {std::string("a\xff", 2), "b"},
      {std::string("a\xff\xff", 3), "b"},
      {std::string("a\xfe\xff", 3), std::string("a\xff", 2)},
      {std::string("\xff", 1), std::string(1, '\0')},
      {std::string("\xff\xff\xff", 3), std::string(1, '\0')},
      {"", std::string(1, '\0')},
      {std::string("a\0", 2), std::string("a\x01", 2)},
  };
  for (const auto& [in, want] : cases) {
    SCOPED_TRACE(wire::base64_encode(in));
    EXPECT_EQ(prefix_end(in), want);
  }
}

TEST(Base64, KnownVectors) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
      {std::string("\0\xff\xfe", 3), "AP/+"},
  };
  for (const auto& [plain, encoded] : cases) {
    EXPECT_EQ(wire::base64_encode(plain), encoded);
    auto back = wire::base64_decode(encoded);
    ASSERT_TRUE(back.has_value()) << encoded;
    EXPECT_EQ(*back, plain);
  }
}

TEST(Base64, RoundTripsEveryByteAndLength) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (std::size_t len = 0; len <= all.size(); ++len) {
    const std::string s = all.substr(all.size() - len);
    auto back = wire::base64_decode(wire::base64_encode(s));
    ASSERT_TRUE(back.has_value()) << len;
    EXPECT_EQ(*back, s);
  }
}

TEST(Base64, RejectsGarbage) {
  for (const char* bad : {"Zg=a", "Z", "Zm9v!", "Zm 9v", "Zh==", "Zm9=v", "====", "Zm9vY"}) {
    EXPECT_FALSE(wire::base64_decode(bad).has_value()) << bad;
  }
  EXPECT_EQ(wire::base64_decode("Zg").value_or("?"), "f");  // padding is optional
}

TEST(Wire, ExcerptsAreAsciiAndShort) {
  EXPECT_EQ(wire::excerpt("plain text\n"), "plain text");
  EXPECT_EQ(wire::excerpt(std::string("a\0\xff\xc3(b", 6)), "a\\x00\\xff\\xc3(b");
  EXPECT_EQ(wire::excerpt(std::string(300, 'x')), std::string(200, 'x') + "...");
  EXPECT_EQ(wire::excerpt("two\nlines"), "two lines");
}

TEST(Wire, ParsesRangeWithAbsentFields) {
  auto j = wire::Json::parse(
      R"({"header":{"revision":"7"},"kvs":[{"key":"YQ==","create_revision":"5",)"
      R"("mod_revision":"6","version":"2","value":"MQ==","lease":"99"},{"key":"Yg=="}],)"
      R"("more":true,"count":"3"})");
  RangeResult r = wire::parse_range(j, 0);
  ASSERT_EQ(r.kvs.size(), 2u);
  EXPECT_EQ(r.kvs[0].key, "a");
  EXPECT_EQ(r.kvs[0].value, "1");
  EXPECT_EQ(r.kvs[0].create_revision, 5);
  EXPECT_EQ(r.kvs[0].mod_revision, 6);
  EXPECT_EQ(r.kvs[0].version, 2);
  EXPECT_EQ(r.kvs[0].lease, 99);
  EXPECT_EQ(r.kvs[1].key, "b");
  EXPECT_EQ(r.kvs[1].value, "");
  EXPECT_EQ(r.kvs[1].version, 0);
  EXPECT_TRUE(r.more);
  EXPECT_EQ(r.count, 3);
  EXPECT_EQ(r.revision, 7);

  RangeResult empty = wire::parse_range(wire::Json::parse(R"({"header":{}})"), 4);
  EXPECT_TRUE(empty.kvs.empty());
  EXPECT_EQ(empty.count, 0);
  EXPECT_FALSE(empty.more);
  EXPECT_EQ(empty.revision, 4);
}

TEST(Wire, RejectsMisshapenAnswers) {
  for (const char* bad : {R"({"kvs":"x"})", R"({"count":"12x"})", R"({"more":"yes"})",
                          R"({"kvs":[{"key":"!!"}]})", R"({"kvs":[3]})"}) {
    EXPECT_THROW(wire::parse_range(wire::Json::parse(bad), 0), wire::BadAnswer) << bad;
  }
}

TEST(Wire, ParsesWatchEvents) {
  auto j = wire::Json::parse(
      R"({"header":{"revision":"6"},"events":[{"type":"DELETE","kv":{"key":"YQ==",)"
      R"("mod_revision":"6"}},{"kv":{"key":"Yw==","create_revision":"6","mod_revision":"6",)"
      R"("version":"1"}}]})");
  auto events = wire::parse_events(j);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].type, EventType::kDelete);
  EXPECT_EQ(events[0].kv.key, "a");
  EXPECT_EQ(events[0].kv.mod_revision, 6);
  EXPECT_EQ(events[1].type, EventType::kPut);
  EXPECT_EQ(events[1].kv.key, "c");
  EXPECT_EQ(events[1].kv.value, "");
}

TEST(Wire, BuildsTxnRequests) {
  auto j = wire::txn_request({Compare::absent("k"), Compare::value_is("k", "v"),
                              Compare::lease("k", Compare::Op::kNotEqual, 5),
                              Compare::mod_revision("k", Compare::Op::kLess, 9),
                              Compare::version("k", Compare::Op::kGreater, 1)},
                             {TxnOp::put("k", "v", 123)}, {TxnOp::get("k"), TxnOp::del("a", "b")});
  EXPECT_EQ(
      j.dump(),
      R"({"compare":[{"create_revision":"0","key":"aw==","result":"EQUAL","target":"CREATE"},)"
      R"({"key":"aw==","result":"EQUAL","target":"VALUE","value":"dg=="},)"
      R"({"key":"aw==","lease":"5","result":"NOT_EQUAL","target":"LEASE"},)"
      R"({"key":"aw==","mod_revision":"9","result":"LESS","target":"MOD"},)"
      R"({"key":"aw==","result":"GREATER","target":"VERSION","version":"1"}],)"
      R"("failure":[{"request_range":{"key":"aw=="}},)"
      R"({"request_delete_range":{"key":"YQ==","range_end":"Yg=="}}],)"
      R"("success":[{"request_put":{"key":"aw==","lease":"123","value":"dg=="}}]})");
}

TEST(Wire, MapsBothErrorShapes) {
  auto unary = wire::error_in(
      wire::Json::parse(R"({"error":"etcdserver: no leader","message":"etcdserver: no leader",)"
                        R"("code":14})"),
      "E");
  ASSERT_TRUE(unary.has_value());
  EXPECT_EQ(unary->code(), ErrorCode::kUnavailable);
  EXPECT_NE(unary->message().find("no leader"), std::string::npos);

  auto stream = wire::error_in(
      wire::Json::parse(R"({"error":{"grpc_code":3,"http_code":400,"message":"bad key",)"
                        R"("http_status":"Bad Request"}})"),
      "E");
  ASSERT_TRUE(stream.has_value());
  EXPECT_EQ(stream->code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(stream->message().find("bad key"), std::string::npos);

  auto compacted = wire::error_in(
      wire::Json::parse(R"({"code":11,"message":"mvcc: required revision has been compacted"})"),
      "E");
  ASSERT_TRUE(compacted.has_value());
  EXPECT_EQ(compacted->code(), ErrorCode::kInvalidArgument);

  EXPECT_FALSE(wire::error_in(wire::Json::parse(R"({"header":{"revision":"3"}})"), "E"));
  EXPECT_EQ(wire::status_from_grpc(5, "x").code(), ErrorCode::kNotFound);
  EXPECT_EQ(wire::status_from_grpc(4, "x").code(), ErrorCode::kTimeout);
  EXPECT_EQ(wire::status_from_http(404, "404 page not found", "E").code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(wire::status_from_http(502, "<html>", "E").code(), ErrorCode::kUnavailable);
}

// A fake etcd gateway: answers every POST with a fixed status and body.
class FakeGateway {
 public:
  FakeGateway(int status, std::string body, std::string content_type = "application/json")
      : status_(status), body_(std::move(body)), content_type_(std::move(content_type)) {
    server_.Post(".*", [this](const httplib::Request&, httplib::Response& res) {
      res.status = status_;
      res.set_content(body_, content_type_);
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~FakeGateway() {
    server_.stop();
    thread_.join();
  }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  int status_;
  std::string body_;
  std::string content_type_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

TEST(ClientFaults, GarbageAnswerIsCorrupt) {
  FakeGateway fake(200, "this is not json", "text/plain");
  Client client({fake.endpoint()});
  auto r = client.range("k");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kCorrupt);
  EXPECT_NE(r.status().message().find("this is not json"), std::string::npos);
  EXPECT_EQ(client.put("k", "v").status().code(), ErrorCode::kCorrupt);
  auto w = client.watch(
      "k", "", 0, [](const auto&) { return true; }, milliseconds(2000));
  EXPECT_EQ(w.code(), ErrorCode::kCorrupt) << w.message();
}

TEST(ClientFaults, MisshapenAnswerIsCorrupt) {
  FakeGateway fake(200, R"({"header":{"revision":"1"},"kvs":[{"key":"%%%"}],"count":"1"})");
  Client client({fake.endpoint()});
  auto r = client.range("k");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kCorrupt);
  EXPECT_NE(r.status().message().find("key"), std::string::npos);
  auto lease = client.lease_grant(5);  // no ID in the answer
  EXPECT_EQ(lease.status().code(), ErrorCode::kCorrupt);
}

TEST(ClientFaults, EtcdErrorsKeepTheirMessage) {
  {
    FakeGateway fake(503, R"({"error":"etcdserver: no leader","message":"etcdserver: no leader",)"
                          R"("code":14})");
    Client client({fake.endpoint()});
    auto r = client.put("k", "v");
    EXPECT_EQ(r.status().code(), ErrorCode::kUnavailable);
    EXPECT_NE(r.status().message().find("etcdserver: no leader"), std::string::npos);
    EXPECT_NE(r.status().message().find(fake.endpoint()), std::string::npos);
  }
  {
    FakeGateway fake(400, R"({"error":"etcdserver: key is not provided",)"
                          R"("message":"etcdserver: key is not provided","code":3})");
    Client client({fake.endpoint()});
    auto r = client.put("", "v");
    EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find("key is not provided"), std::string::npos);
  }
  {
    FakeGateway fake(404, "404 page not found", "text/plain");
    Client client({fake.endpoint()});
    EXPECT_EQ(client.range("k").status().code(), ErrorCode::kInvalidArgument);
  }
  {
    // Streaming error shape, on a watch.
    FakeGateway fake(200, R"({"error":{"grpc_code":14,"http_code":503,"message":"no leader"}})"
                          "\n");
    Client client({fake.endpoint()});
    auto w = client.watch(
        "k", "", 0, [](const auto&) { return true; }, milliseconds(2000));
    EXPECT_EQ(w.code(), ErrorCode::kUnavailable);
    EXPECT_NE(w.message().find("no leader"), std::string::npos);
  }
}

TEST(ClientFaults, StreamThatEndsIsUnavailable) {
  FakeGateway fake(200, R"({"result":{"header":{"revision":"3"},"created":true}})"
                        "\n");
  Client client({fake.endpoint()});
  auto w = client.watch(
      "k", "", 0, [](const auto&) { return true; }, milliseconds(2000));
  EXPECT_EQ(w.code(), ErrorCode::kUnavailable) << w.message();
}

// A TCP listener that accepts connections (the kernel does) but never answers.
class SilentPeer {
 public:
  SilentPeer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && ::listen(fd_, 16) == 0 &&
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
      port_ = ntohs(a.sin_port);
    }
  }
  ~SilentPeer() { ::close(fd_); }
  int port() const { return port_; }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// A listener whose accept queue is full: the kernel drops new SYNs, so connecting hangs.
class SaturatedPeer {
 public:
  SaturatedPeer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 0) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      return;
    }
    port_ = ntohs(a.sin_port);
    for (int i = 0; i < 4; ++i) {
      const int c = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      if (::connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 && errno != EINPROGRESS) {
        port_ = 0;
      }
      fillers_.push_back(c);
    }
    std::this_thread::sleep_for(milliseconds(50));
  }
  ~SaturatedPeer() {
    for (int c : fillers_) ::close(c);
    ::close(fd_);
  }
  int port() const { return port_; }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::vector<int> fillers_;
};

TEST(ClientFaults, ConnectTimeoutIsUnavailableAndFailsOver) {
  SaturatedPeer peer;
  ASSERT_NE(peer.port(), 0) << "cannot listen on 127.0.0.1";
  Options options;
  options.connect_timeout = milliseconds(300);
  options.request_timeout = milliseconds(3000);
  {
    Client client({peer.endpoint()}, options);
    const auto start = Clock::now();
    auto r = client.range("k");
    const auto took = Clock::now() - start;
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), ErrorCode::kUnavailable) << r.status().message();
    EXPECT_NE(r.status().message().find(peer.endpoint()), std::string::npos);
    EXPECT_GE(took, milliseconds(250));
    EXPECT_LT(took, milliseconds(1500));
  }
  FakeGateway good(200, R"({"header":{"revision":"9"}})");
  Client client({peer.endpoint(), good.endpoint()}, options);
  auto first = client.put("k", "v");
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_EQ(*first, 9);
  // The endpoint that answered is tried first from now on: no more connect timeouts.
  const auto start = Clock::now();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(client.put("k", "v").ok());
  EXPECT_LT(Clock::now() - start, milliseconds(250));
}

TEST(ClientFaults, ProxyVariablesAreIgnored) {
  FakeGateway fake(200, R"({"header":{"revision":"4"}})");
  ::setenv("http_proxy", "http://127.0.0.1:1", 1);
  ::setenv("HTTP_PROXY", "http://127.0.0.1:1", 1);
  ::setenv("no_proxy", "", 1);
  Client client({fake.endpoint()});
  auto r = client.put("k", "v");
  ::unsetenv("http_proxy");
  ::unsetenv("HTTP_PROXY");
  ::unsetenv("no_proxy");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, 4);
}

TEST(ClientFaults, SilentPeerTimesOut) {
  SilentPeer peer;
  ASSERT_NE(peer.port(), 0) << "cannot listen on 127.0.0.1";
  Options options;
  options.request_timeout = milliseconds(300);
  Client client({peer.endpoint()}, options);
  const auto start = Clock::now();
  auto r = client.put("k", "v");
  const auto took = Clock::now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kTimeout) << r.status().message();
  EXPECT_LT(took, milliseconds(2000));
  EXPECT_GE(took, milliseconds(250));
  // A watch that hears nothing simply times out.
  auto w = client.watch(
      "k", "", 0, [](const auto&) { return true; }, milliseconds(300));
  EXPECT_TRUE(w.ok()) << w.message();
}

TEST(ClientFaults, WatchWithoutDeadlineEndsOnStop) {
  SilentPeer peer;
  ASSERT_NE(peer.port(), 0) << "cannot listen on 127.0.0.1";
  Client client({peer.endpoint()});
  std::stop_source source;
  std::jthread stopper([&] {
    std::this_thread::sleep_for(milliseconds(200));
    source.request_stop();
  });
  const auto start = Clock::now();
  auto w = client.watch(
      "k", "", 0, [](const auto&) { return true; }, milliseconds::max(), source.get_token());
  EXPECT_TRUE(w.ok()) << w.message();
  EXPECT_LT(Clock::now() - start, milliseconds(1500));
}

TEST(ClientFaults, WatchRethrowsWhatOnEventsThrows) {
  FakeGateway fake(200, R"({"result":{"header":{"revision":"2"},"created":true}})"
                        "\n"
                        R"({"result":{"events":[{"kv":{"key":"YQ==","mod_revision":"2"}}]}})"
                        "\n");
  Client client({fake.endpoint()});
  EXPECT_THROW(client.watch(
                   "a", "", 0,
                   [](const std::vector<WatchEvent>& events) -> bool {
                     throw std::runtime_error("seen " + events.at(0).kv.key);
                   },
                   milliseconds(2000)),
               std::runtime_error);
}

TEST(ClientFaults, RefusedEverywhereIsUnavailable) {
  const std::string a = "http://127.0.0.1:" + std::to_string(testing::free_port());
  const std::string b = "http://127.0.0.1:" + std::to_string(testing::free_port());
  Client client({a, b});
  const auto start = Clock::now();
  auto r = client.range("k");
  EXPECT_LT(Clock::now() - start, milliseconds(1500));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kUnavailable);
  EXPECT_NE(r.status().message().find(a), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find(b), std::string::npos) << r.status().message();
  auto w = client.watch(
      "k", "", 0, [](const auto&) { return true; }, milliseconds(1000));
  EXPECT_EQ(w.code(), ErrorCode::kUnavailable);
}

TEST(ClientFaults, NoEndpoints) {
  Client client({});
  EXPECT_EQ(client.range("k").status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(client
                .watch(
                    "k", "", 0, [](const auto&) { return true; }, milliseconds(10))
                .code(),
            ErrorCode::kInvalidArgument);
}

TEST(ClientFaults, EndpointsAreNormalized) {
  Client client({"127.0.0.1:2379/", " http://h:1 ", "", "https://s:2"});
  EXPECT_EQ(client.endpoints(),
            (std::vector<std::string>{"http://127.0.0.1:2379", "http://h:1", "https://s:2"}));
}

TEST(ClientFaults, LeaseGrantNeedsPositiveTtl) {
  Client client({"http://127.0.0.1:1"});
  EXPECT_EQ(client.lease_grant(0).status().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace dslmodel::etcd
