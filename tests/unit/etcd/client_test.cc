// The etcd client against a real etcd (Debian package etcd-server), started by the tests: one
// server shared by the suite, each test under its own key prefix; the tests that stop etcd start
// their own. Skipped when the etcd binary is missing.
#include "etcd/client.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <memory>
#include <sstream>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "etcd_server.h"

namespace dslmodel::etcd {
namespace {

using dslmodel::testing::EtcdServer;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

std::string all_bytes() {
  std::string s;
  for (int i = 0; i < 256; ++i) s += static_cast<char>(i);
  return s;
}

std::vector<std::string> keys_of(const RangeResult& r) {
  std::vector<std::string> keys;
  for (const auto& kv : r.kvs) keys.push_back(kv.key);
  return keys;
}

class EtcdClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = EtcdServer::start(); }
  static void TearDownTestSuite() { server_.reset(); }

  void SetUp() override {
    if (!server_) GTEST_SKIP() << "etcd is not installed or did not start";
    client_ = std::make_unique<Client>(std::vector<std::string>{server_->endpoint()});
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    prefix_ = std::string("/t/") + info->name() + "/";
  }

  std::string k(const std::string& name) const { return prefix_ + name; }

  // Puts and returns the revision, failing the test on error.
  std::int64_t put(const std::string& key, const std::string& value, std::int64_t lease = 0) {
    auto r = client_->put(key, value, lease);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : 0;
  }

  RangeResult range(const std::string& key, const RangeOptions& options = {}) {
    auto r = client_->range(key, options);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : RangeResult{};
  }

  RangeResult prefix_range(RangeOptions options = {}) {
    options.range_end = prefix_end(prefix_);
    return range(prefix_, options);
  }

  inline static std::unique_ptr<EtcdServer> server_;
  std::unique_ptr<Client> client_;
  std::string prefix_;
};

TEST_F(EtcdClientTest, PutThenRangeOneKey) {
  const auto rev1 = put(k("a"), "one");
  EXPECT_GT(rev1, 0);
  auto r = range(k("a"));
  ASSERT_EQ(r.kvs.size(), 1u);
  EXPECT_EQ(r.kvs[0].key, k("a"));
  EXPECT_EQ(r.kvs[0].value, "one");
  EXPECT_EQ(r.kvs[0].create_revision, rev1);
  EXPECT_EQ(r.kvs[0].mod_revision, rev1);
  EXPECT_EQ(r.kvs[0].version, 1);
  EXPECT_EQ(r.kvs[0].lease, 0);
  EXPECT_EQ(r.count, 1);
  EXPECT_GE(r.revision, rev1);

  const auto rev2 = put(k("a"), "two");
  EXPECT_GT(rev2, rev1);
  r = range(k("a"));
  ASSERT_EQ(r.kvs.size(), 1u);
  EXPECT_EQ(r.kvs[0].value, "two");
  EXPECT_EQ(r.kvs[0].create_revision, rev1);
  EXPECT_EQ(r.kvs[0].mod_revision, rev2);
  EXPECT_EQ(r.kvs[0].version, 2);

  r = range(k("missing"));
  EXPECT_TRUE(r.kvs.empty());
  EXPECT_EQ(r.count, 0);
  EXPECT_FALSE(r.more);

  put(k("empty"), "");
  r = range(k("empty"));
  ASSERT_EQ(r.kvs.size(), 1u);
  EXPECT_EQ(r.kvs[0].value, "");
}

TEST_F(EtcdClientTest, PrefixRangeLimitDescendingKeysOnlyCountOnly) {
  for (const char* name : {"c", "a", "b"}) put(k(name), std::string("v") + name);
  put(prefix_.substr(0, prefix_.size() - 1) + "0", "outside");  // sorts right after the prefix

  auto all = prefix_range();
  EXPECT_EQ(keys_of(all), (std::vector<std::string>{k("a"), k("b"), k("c")}));
  EXPECT_EQ(all.count, 3);
  EXPECT_FALSE(all.more);
  EXPECT_EQ(all.kvs[1].value, "vb");

  RangeOptions limited;
  limited.limit = 2;
  auto first_two = prefix_range(limited);
  EXPECT_EQ(keys_of(first_two), (std::vector<std::string>{k("a"), k("b")}));
  EXPECT_TRUE(first_two.more);
  EXPECT_EQ(first_two.count, 3);
  limited.limit = 3;
  EXPECT_FALSE(prefix_range(limited).more);

  RangeOptions desc;
  desc.descending = true;
  EXPECT_EQ(keys_of(prefix_range(desc)), (std::vector<std::string>{k("c"), k("b"), k("a")}));
  desc.limit = 1;
  auto last = prefix_range(desc);
  EXPECT_EQ(keys_of(last), (std::vector<std::string>{k("c")}));
  EXPECT_TRUE(last.more);

  RangeOptions keys_only;
  keys_only.keys_only = true;
  auto keys = prefix_range(keys_only);
  ASSERT_EQ(keys.kvs.size(), 3u);
  for (const auto& kv : keys.kvs) {
    EXPECT_EQ(kv.value, "");
    EXPECT_GT(kv.mod_revision, 0);
  }

  RangeOptions count_only;
  count_only.count_only = true;
  auto counted = prefix_range(count_only);
  EXPECT_TRUE(counted.kvs.empty());
  EXPECT_EQ(counted.count, 3);
}

TEST_F(EtcdClientTest, RangeAtAnOldRevision) {
  const auto rev1 = put(k("x"), "old");
  const auto rev2 = put(k("x"), "new");
  RangeOptions then;
  then.revision = rev1;
  auto r = range(k("x"), then);
  ASSERT_EQ(r.kvs.size(), 1u);
  EXPECT_EQ(r.kvs[0].value, "old");
  EXPECT_EQ(r.kvs[0].mod_revision, rev1);
  EXPECT_EQ(range(k("x")).kvs.at(0).value, "new");

  RangeOptions future;
  future.revision = rev2 + 1000000;
  auto f = client_->range(k("x"), future);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(f.status().message().find("future revision"), std::string::npos)
      << f.status().message();
}

struct TxnCase {
  const char* name;
  std::function<Compare(const std::string& key, const KeyValue& kv)> compare;
  bool want_success;
};

TEST_F(EtcdClientTest, TxnTakesTheBranchEachCompareTargetSays) {
  auto lease = client_->lease_grant(60);
  ASSERT_TRUE(lease.ok()) << lease.status().message();
  using Op = Compare::Op;
  const std::vector<TxnCase> cases = {
      {"version equal",
       [](auto& key, auto& kv) { return Compare::version(key, Op::kEqual, kv.version); }, true},
      {"version greater",
       [](auto& key, auto& kv) { return Compare::version(key, Op::kGreater, kv.version); }, false},
      {"version less",
       [](auto& key, auto& kv) { return Compare::version(key, Op::kLess, kv.version + 1); }, true},
      {"version not equal",
       [](auto& key, auto& kv) { return Compare::version(key, Op::kNotEqual, kv.version); }, false},
      {"create equal",
       [](auto& key, auto& kv) {
         return Compare::create_revision(key, Op::kEqual, kv.create_revision);
       },
       true},
      {"create less",
       [](auto& key, auto& kv) {
         return Compare::create_revision(key, Op::kLess, kv.create_revision);
       },
       false},
      {"absent on present key", [](auto& key, auto&) { return Compare::absent(key); }, false},
      {"absent on missing key", [](auto& key, auto&) { return Compare::absent(key + "-missing"); },
       true},
      {"mod equal",
       [](auto& key, auto& kv) { return Compare::mod_revision(key, Op::kEqual, kv.mod_revision); },
       true},
      {"mod greater",
       [](auto& key, auto& kv) {
         return Compare::mod_revision(key, Op::kGreater, kv.mod_revision - 1);
       },
       true},
      {"mod not equal",
       [](auto& key, auto& kv) {
         return Compare::mod_revision(key, Op::kNotEqual, kv.mod_revision);
       },
       false},
      {"value equal", [](auto& key, auto& kv) { return Compare::value_is(key, kv.value); }, true},
      {"value differs", [](auto& key, auto&) { return Compare::value_is(key, "something else"); },
       false},
      {"lease equal", [](auto& key, auto& kv) { return Compare::lease(key, Op::kEqual, kv.lease); },
       true},
      {"lease not equal",
       [](auto& key, auto& kv) { return Compare::lease(key, Op::kNotEqual, kv.lease); }, false},
      {"lease none", [](auto& key, auto&) { return Compare::lease(key, Op::kEqual, 0); }, false},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const auto& c = cases[i];
    SCOPED_TRACE(c.name);
    const std::string key = k("subject" + std::to_string(i));
    put(key, "first", lease->id);
    put(key, "second", lease->id);
    const KeyValue kv = range(key).kvs.at(0);
    const std::string branch = k("branch" + std::to_string(i));
    auto t = client_->txn({c.compare(key, kv)}, {TxnOp::put(branch, "success"), TxnOp::get(key)},
                          {TxnOp::put(branch, "failure"), TxnOp::get(branch), TxnOp::get(key)});
    ASSERT_TRUE(t.ok()) << t.status().message();
    EXPECT_EQ(t->succeeded, c.want_success);
    EXPECT_GT(t->revision, kv.mod_revision);
    EXPECT_EQ(range(branch).kvs.at(0).value, c.want_success ? "success" : "failure");
    // Only the range ops of the branch taken answer, in order.
    if (c.want_success) {
      ASSERT_EQ(t->ranges.size(), 1u);
      EXPECT_EQ(t->ranges[0].kvs.at(0).value, "second");
    } else {
      ASSERT_EQ(t->ranges.size(), 2u);
      EXPECT_EQ(t->ranges[0].kvs.at(0).value, "failure");
      EXPECT_EQ(t->ranges[1].kvs.at(0).value, "second");
    }
  }
  EXPECT_TRUE(client_->lease_revoke(lease->id).ok());
}

TEST_F(EtcdClientTest, TxnCreateOnceAndDeleteRange) {
  auto first = client_->txn({Compare::absent(k("lock"))}, {TxnOp::put(k("lock"), "me")},
                            {TxnOp::get(k("lock"))});
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_TRUE(first->succeeded);
  EXPECT_TRUE(first->ranges.empty());
  auto second = client_->txn({Compare::absent(k("lock"))}, {TxnOp::put(k("lock"), "you")},
                             {TxnOp::get(k("lock"))});
  ASSERT_TRUE(second.ok()) << second.status().message();
  EXPECT_FALSE(second->succeeded);
  ASSERT_EQ(second->ranges.size(), 1u);
  EXPECT_EQ(second->ranges[0].kvs.at(0).value, "me");
  EXPECT_EQ(second->ranges[0].revision, second->revision);

  for (const char* name : {"d/1", "d/2", "d/3"}) put(k(name), "x");
  RangeOptions counting;
  counting.count_only = true;
  counting.range_end = prefix_end(k("d/"));
  auto t = client_->txn({}, {TxnOp::del(k("d/1"), k("d/3")), TxnOp::get(k("d/"), counting)});
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_TRUE(t->succeeded);  // no compares: success
  ASSERT_EQ(t->ranges.size(), 1u);
  EXPECT_EQ(t->ranges[0].count, 1);
  EXPECT_EQ(keys_of(range(k("d/"), counting)).size(), 0u);
  EXPECT_EQ(keys_of(range(k("d/3"))), (std::vector<std::string>{k("d/3")}));
}

TEST_F(EtcdClientTest, KeysAndValuesAreBinarySafe) {
  const std::string bytes = all_bytes();
  const std::string key = k(bytes);
  std::string value(bytes.rbegin(), bytes.rend());
  value += std::string("\0\0\xff", 3);
  put(key, value);
  auto r = range(key);
  ASSERT_EQ(r.kvs.size(), 1u);
  EXPECT_EQ(r.kvs[0].key, key);
  EXPECT_EQ(r.kvs[0].value, value);

  // A prefix that ends in 0xff bytes, and keys with NULs inside.
  const std::string p = k(std::string("bin\xff\xff", 5));
  put(p + std::string("\0", 1), "zero");
  put(p + "\xff", "ff");
  put(k("bin\xff\xfe"), "before");         // outside: sorts before p
  put(k(std::string("bio", 3)), "after");  // outside: sorts after every key starting with p
  RangeOptions o;
  o.range_end = prefix_end(p);
  auto under = range(p, o);
  EXPECT_EQ(keys_of(under), (std::vector<std::string>{p + std::string("\0", 1), p + "\xff"}));

  auto t = client_->txn({Compare::value_is(key, value)}, {TxnOp::get(key)});
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_TRUE(t->succeeded);
  EXPECT_EQ(t->ranges.at(0).kvs.at(0).value, value);
}

TEST_F(EtcdClientTest, LeaseGrantKeepaliveRevoke) {
  auto lease = client_->lease_grant(5);
  ASSERT_TRUE(lease.ok()) << lease.status().message();
  EXPECT_NE(lease->id, 0);
  EXPECT_EQ(lease->ttl, 5);
  put(k("held"), "v", lease->id);
  EXPECT_EQ(range(k("held")).kvs.at(0).lease, lease->id);

  auto ttl = client_->lease_keepalive(lease->id);
  ASSERT_TRUE(ttl.ok()) << ttl.status().message();
  EXPECT_EQ(*ttl, 5);

  ASSERT_TRUE(client_->lease_revoke(lease->id).ok());
  EXPECT_TRUE(range(k("held")).kvs.empty());
  auto after = client_->lease_keepalive(lease->id);
  EXPECT_EQ(after.status().code(), ErrorCode::kNotFound) << after.status().message();
  EXPECT_EQ(client_->lease_revoke(lease->id).code(), ErrorCode::kNotFound);

  // A put with a lease that does not exist is refused.
  auto bad = client_->put(k("orphan"), "v", lease->id);
  EXPECT_EQ(bad.status().code(), ErrorCode::kNotFound) << bad.status().message();
}

TEST_F(EtcdClientTest, LeaseExpiresAfterItsTtl) {
  auto lease = client_->lease_grant(1);
  ASSERT_TRUE(lease.ok()) << lease.status().message();
  EXPECT_GE(lease->ttl, 1);
  EXPECT_LE(lease->ttl, 2);
  put(k("ephemeral"), "v", lease->id);
  const auto deadline = Clock::now() + std::chrono::seconds(15);
  bool gone = false;
  while (Clock::now() < deadline) {
    auto r = client_->range(k("ephemeral"));
    ASSERT_TRUE(r.ok()) << r.status().message();
    if (r->kvs.empty()) {
      gone = true;
      break;
    }
    std::this_thread::sleep_for(milliseconds(100));
  }
  EXPECT_TRUE(gone) << "the key outlived its lease by 15 s";
  EXPECT_EQ(client_->lease_keepalive(lease->id).status().code(), ErrorCode::kNotFound);
}

TEST_F(EtcdClientTest, WatchSeesPutsAndDeletesInOrderFromARevision) {
  const auto start = put(k("w/a"), "1");
  put(k("w/b"), "2");
  put(k("other"), "not watched");
  ASSERT_TRUE(client_->txn({}, {TxnOp::del(k("w/a"))}).ok());
  put(k("w/b"), "3");

  std::vector<WatchEvent> seen;
  auto s = client_->watch(
      k("w/"), prefix_end(k("w/")), start,
      [&](const std::vector<WatchEvent>& events) {
        seen.insert(seen.end(), events.begin(), events.end());
        return seen.size() < 4;
      },
      milliseconds(10000));
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[0].type, EventType::kPut);
  EXPECT_EQ(seen[0].kv.key, k("w/a"));
  EXPECT_EQ(seen[0].kv.value, "1");
  EXPECT_EQ(seen[0].kv.mod_revision, start);
  EXPECT_EQ(seen[1].type, EventType::kPut);
  EXPECT_EQ(seen[1].kv.key, k("w/b"));
  EXPECT_EQ(seen[2].type, EventType::kDelete);
  EXPECT_EQ(seen[2].kv.key, k("w/a"));
  EXPECT_EQ(seen[3].type, EventType::kPut);
  EXPECT_EQ(seen[3].kv.value, "3");
  EXPECT_EQ(seen[3].kv.version, 2);
  for (std::size_t i = 1; i < seen.size(); ++i) {
    EXPECT_GT(seen[i].kv.mod_revision, seen[i - 1].kv.mod_revision);
  }
}

TEST_F(EtcdClientTest, WatchFromNowSeesLaterWrites) {
  std::atomic<bool> got{false};
  std::jthread watcher([&] {
    auto s = client_->watch(
        k("live"), "", 0,
        [&](const std::vector<WatchEvent>& events) {
          for (const auto& e : events) {
            if (e.kv.value == "hello") got = true;
          }
          return !got;
        },
        milliseconds(10000));
    EXPECT_TRUE(s.ok()) << s.message();
  });
  // The watch starts at some moment we cannot see: write until it hears one.
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (!got && Clock::now() < deadline) {
    put(k("live"), "hello");
    std::this_thread::sleep_for(milliseconds(50));
  }
  watcher.join();
  EXPECT_TRUE(got);
}

TEST_F(EtcdClientTest, WatchReturnsOkOnTimeout) {
  int calls = 0;
  const auto start = Clock::now();
  auto s = client_->watch(
      k("quiet"), "", 0, [&](const auto&) { return ++calls > 0; }, milliseconds(400));
  const auto took = Clock::now() - start;
  EXPECT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(calls, 0);
  EXPECT_GE(took, milliseconds(350));
  EXPECT_LT(took, milliseconds(2000));
}

TEST_F(EtcdClientTest, WatchStopsPromptlyWhenStopIsRequested) {
  std::stop_source source;
  std::atomic<Clock::rep> stopped_at{0};
  std::jthread stopper([&] {
    std::this_thread::sleep_for(milliseconds(300));
    stopped_at = Clock::now().time_since_epoch().count();
    source.request_stop();
  });
  const auto start = Clock::now();
  auto s = client_->watch(
      k("never"), "", 0, [](const auto&) { return true; }, milliseconds(30000), source.get_token());
  const auto end = Clock::now();
  EXPECT_TRUE(s.ok()) << s.message();
  EXPECT_LT(end - start, milliseconds(5000));
  const auto after_stop = end - Clock::time_point(Clock::duration(stopped_at.load()));
  EXPECT_LT(after_stop, milliseconds(250))
      << "the watch took " << std::chrono::duration_cast<milliseconds>(after_stop).count()
      << " ms to stop";

  // A token already stopped returns at once.
  auto again = client_->watch(
      k("never"), "", 0, [](const auto&) { return true; }, milliseconds(30000), source.get_token());
  EXPECT_TRUE(again.ok());
}

TEST_F(EtcdClientTest, CompactedRevisionsAreAnError) {
  const auto first = put(k("c"), "1");
  put(k("c"), "2");
  const auto last = put(k("c"), "3");
  httplib::Client http("127.0.0.1", server_->port());
  auto res = http.Post("/v3/kv/compaction", "{\"revision\":\"" + std::to_string(last) + "\"}",
                       "application/json");
  ASSERT_TRUE(res) << "compaction request failed";
  ASSERT_EQ(res->status, 200) << res->body;

  auto w = client_->watch(
      k("c"), "", first, [](const auto&) { return true; }, milliseconds(5000));
  EXPECT_EQ(w.code(), ErrorCode::kInvalidArgument) << w.message();
  EXPECT_NE(w.message().find("compacted"), std::string::npos) << w.message();

  RangeOptions old;
  old.revision = first;
  auto r = client_->range(k("c"), old);
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("compacted"), std::string::npos) << r.status().message();
}

TEST_F(EtcdClientTest, ManyThreadsShareOneClient) {
  constexpr int kThreads = 8;
  constexpr int kPuts = 200;
  std::atomic<int> failures{0};
  {
    std::vector<std::jthread> threads;
    threads.reserve(kThreads);
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kPuts; ++i) {
          const std::string key = k("t" + std::to_string(t) + "/" + std::to_string(i));
          if (!client_->put(key, std::to_string(i)).ok()) ++failures;
          if (i % 50 == 0 && !client_->range(key).ok()) ++failures;
        }
      });
    }
  }
  EXPECT_EQ(failures.load(), 0);
  RangeOptions count;
  count.count_only = true;
  EXPECT_EQ(prefix_range(count).count, kThreads * kPuts);
}

// Client-side TCP sockets (any state, TIME_WAIT included) whose peer is 127.0.0.1:port.
int sockets_to(int port) {
  std::ifstream f("/proc/net/tcp");
  std::string line;
  std::getline(f, line);  // header
  int n = 0;
  char want[16];
  std::snprintf(want, sizeof want, ":%04X", port);
  while (std::getline(f, line)) {
    std::istringstream in(line);
    std::string slot, local, remote;
    in >> slot >> local >> remote;
    if (remote.size() >= 5 && remote.substr(remote.size() - 5) == want) ++n;
  }
  return n;
}

TEST_F(EtcdClientTest, SequentialCallsReuseOneConnection) {
  const int before = sockets_to(server_->port());
  const auto start = Clock::now();
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(client_->put(k("seq"), std::to_string(i)).ok());
  }
  const auto took = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
  const int after = sockets_to(server_->port());
  std::printf("1000 sequential puts: %lld ms, %d new connection(s)\n",
              static_cast<long long>(took.count()), after - before);
  EXPECT_LE(after - before, 2) << "connections are not reused";
  EXPECT_LT(took, milliseconds(5000));
  EXPECT_EQ(range(k("seq")).kvs.at(0).version, 1000);
}

TEST_F(EtcdClientTest, FirstEndpointRefusingFallsOverToTheSecond) {
  const std::string dead = "http://127.0.0.1:" + std::to_string(testing::free_port());
  Client client({dead, server_->endpoint()});
  auto rev = client.put(k("fo"), "v");
  ASSERT_TRUE(rev.ok()) << rev.status().message();
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(client.range(k("fo")).ok());
  bool heard = false;
  auto w = client.watch(
      k("fo"), "", *rev,
      [&](const auto& events) {
        heard = !events.empty();
        return false;
      },
      milliseconds(5000));
  EXPECT_TRUE(w.ok()) << w.message();
  EXPECT_TRUE(heard);
}

TEST(EtcdDown, CallsFailFastWhileEtcdIsStoppedAndWorkAfterResume) {
  auto server = EtcdServer::start();
  if (!server) GTEST_SKIP() << "etcd is not installed or did not start";
  Options options;
  options.connect_timeout = milliseconds(500);
  options.request_timeout = milliseconds(3000);
  Client client({server->endpoint()}, options);
  ASSERT_TRUE(client.put("/down/k", "before").ok());

  server->stop();
  const auto start = Clock::now();
  auto put = client.put("/down/k", "during");
  const auto took = Clock::now() - start;
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.status().code(), ErrorCode::kUnavailable) << put.status().message();
  EXPECT_NE(put.status().message().find(server->endpoint()), std::string::npos)
      << put.status().message();
  EXPECT_LT(took, options.connect_timeout + milliseconds(500));
  EXPECT_EQ(client.range("/down/k").status().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(client.txn({}, {TxnOp::put("/down/k", "t")}).status().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(client.lease_grant(5).status().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(client.lease_keepalive(1).status().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(client.lease_revoke(1).code(), ErrorCode::kUnavailable);
  EXPECT_EQ(client
                .watch(
                    "/down/k", "", 0, [](const auto&) { return true; }, milliseconds(2000))
                .code(),
            ErrorCode::kUnavailable);

  ASSERT_TRUE(server->resume());
  auto again = client.put("/down/k", "after");
  ASSERT_TRUE(again.ok()) << again.status().message();
  auto r = client.range("/down/k");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->kvs.at(0).value, "after");
}

TEST(EtcdDown, WatchBreaksWhenEtcdGoesAway) {
  auto server = EtcdServer::start();
  if (!server) GTEST_SKIP() << "etcd is not installed or did not start";
  Client client({server->endpoint()});
  std::jthread killer([&] {
    std::this_thread::sleep_for(milliseconds(500));
    server->stop();
  });
  const auto start = Clock::now();
  auto w = client.watch(
      "/gone", "", 0, [](const auto&) { return true; }, milliseconds(20000));
  killer.join();
  EXPECT_EQ(w.code(), ErrorCode::kUnavailable) << w.message();
  EXPECT_LT(Clock::now() - start, milliseconds(15000));
}

}  // namespace
}  // namespace dslmodel::etcd
