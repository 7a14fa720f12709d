#include "telemetry/otlp_receiver.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "store/dir_store.h"
#include "telemetry/prometheus.h"

namespace dslmodel::telemetry {
namespace {

namespace fs = std::filesystem;

// An export with `n` spans of `pad` bytes of attribute text each, in one resource and scope.
std::string make_export(int n, std::size_t pad = 8) {
  std::string spans;
  for (int i = 0; i < n; ++i) {
    if (i > 0) spans += ',';
    spans += fmt::format(
        R"({{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"{:016x}","name":"s{}",)"
        R"("startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000100000000",)"
        R"("attributes":[{{"key":"pad","value":{{"stringValue":"{}"}}}}]}})",
        i + 1, i, std::string(pad, 'x'));
  }
  return fmt::format(
      R"({{"resourceSpans":[{{"resource":{{"attributes":[{{"key":"service.name","value":)"
      R"({{"stringValue":"agent"}}}}]}},"scopeSpans":[{{"scope":{{"name":"t"}},"spans":[{}]}}]}}]}})",
      spans);
}

class ReceiverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           fmt::format("otlp_receiver_test_{}_{}",
                       ::testing::UnitTest::GetInstance()->current_test_info()->name(), ::getpid());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  ReceiverConfig config() {
    ReceiverConfig c;
    c.dir = dir_;
    c.spans_received = &received_;
    c.requests_rejected = &rejected_;
    return c;
  }

  std::int64_t store_spans() {
    store::DirStore store(dir_);
    auto snap = store.snapshot();
    EXPECT_TRUE(snap.ok()) << snap.status().message();
    if (!snap.ok()) return -1;
    std::int64_t n = 0;
    for (const auto& t : snap->telemetry) n += t.count;
    return n;
  }

  std::size_t file_count() {
    std::size_t n = 0;
    for (const auto& e : fs::directory_iterator(dir_))
      n += e.path().filename().string().starts_with("telemetry_otlp-") ? 1 : 0;
    return n;
  }

  fs::path dir_;
  Registry registry_;
  Counter& received_ = registry_.add_counter("r_total", "R.");
  Counter& rejected_ = registry_.add_counter("j_total", "J.");
};

struct BadCase {
  const char* body;
  int status;
  const char* message;
};

TEST_F(ReceiverTest, RejectsMalformedExportsNamingThePath) {
  const std::vector<BadCase> cases = {
      {"{not json", 400, "invalid JSON: "},
      {"", 400, "invalid JSON: "},
      {"[]", 400, "request is not a JSON object"},
      {R"({"resourceSpans":{}})", 400, "resourceSpans is not an array"},
      {R"({"resourceSpans":[1]})", 400, "resourceSpans[0] is not an object"},
      {R"({"resourceSpans":[{"scopeSpans":{}}]})", 400,
       "resourceSpans[0].scopeSpans is not an array"},
      {R"({"resourceSpans":[{"scopeSpans":[{},"x"]}]})", 400,
       "resourceSpans[0].scopeSpans[1] is not an object"},
      {R"({"resourceSpans":[{"scopeSpans":[{"spans":[]},{"spans":5}]}]})", 400,
       "resourceSpans[0].scopeSpans[1].spans is not an array"},
      {R"({"resourceSpans":[{"scopeSpans":[{"spans":[{},null]}]}]})", 400,
       "resourceSpans[0].scopeSpans[0].spans[1] is not an object"},
      {R"({"resourceSpans":[{"instrumentationLibrarySpans":7}]})", 400,
       "resourceSpans[0].instrumentationLibrarySpans is not an array"},
  };
  OtlpReceiver r(config());
  for (const auto& c : cases) {
    ReceiverReply reply = r.handle(c.body);
    EXPECT_EQ(reply.status, c.status) << c.body;
    EXPECT_NE(reply.body.find(c.message), std::string::npos) << c.body << " → " << reply.body;
  }
  EXPECT_EQ(rejected_.value(), static_cast<double>(cases.size()));
  EXPECT_EQ(file_count(), 0U);
}

TEST_F(ReceiverTest, DeepNestingInsideASpanIs400AndNothingIsStored) {
  const std::string deep = R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"a","x":)" +
                           std::string(100000, '[') + std::string(100000, ']') + "}]}]}]}";
  ASSERT_GT(deep.size(), 200000U);
  OtlpReceiver r(config());
  ReceiverReply reply = r.handle(deep);
  EXPECT_EQ(reply.status, 400);
  EXPECT_NE(reply.body.find("nested deeper than 64 levels"), std::string::npos) << reply.body;
  EXPECT_EQ(file_count(), 0U);
  EXPECT_EQ(rejected_.value(), 1);
}

TEST_F(ReceiverTest, TooManySpansIs413) {
  ReceiverConfig c = config();
  c.max_spans = 10;
  OtlpReceiver r(c);
  ReceiverReply reply = r.handle(make_export(11));
  EXPECT_EQ(reply.status, 413);
  EXPECT_NE(reply.body.find("11 spans exceed the limit of 10"), std::string::npos) << reply.body;
  EXPECT_EQ(file_count(), 0U);
}

TEST_F(ReceiverTest, PrecheckRejectsProtobufAndOversizedLength) {
  OtlpReceiver r(config());
  auto proto = r.precheck("application/x-protobuf", 10);
  ASSERT_TRUE(proto);
  EXPECT_EQ(proto->status, 415);
  auto big = r.precheck("application/json", std::uint64_t{50} << 20);
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413);
  EXPECT_FALSE(r.precheck("application/json; charset=utf-8", 100));
  EXPECT_FALSE(r.precheck("application/json", std::nullopt));
  EXPECT_EQ(rejected_.value(), 2);
}

TEST_F(ReceiverTest, ContentTypeMustBeExactlyJsonWithOptionalParameters) {
  OtlpReceiver r(config());
  for (const char* ok : {"application/json", "Application/JSON", "application/json;charset=utf-8",
                         "application/json ; charset=\"utf-8\"", "application/json; a=b; c=d",
                         "application/json;", "application/json; q=\"a\\\"b\""}) {
    EXPECT_FALSE(r.precheck(ok, 10)) << ok;
  }
  using namespace std::string_literals;
  for (const std::string& bad :
       {""s, "application/json\0evil"s, "application/json\0"s, "application/jsonx"s,
        "application/json evil"s, "application/json; charset"s, "application/json; =x"s,
        "application/json; a=\"unterminated"s, "application/json; a=\"\x01\""s,
        "application/json\r\nX-Evil: 1"s, "application/json, text/plain"s, "application/ json"s,
        "application /json"s, "text/json"s, "/json"s, "application/"s, "application"s,
        "application/x-protobuf"s}) {
    auto reply = r.precheck(bad, 10);
    ASSERT_TRUE(reply) << bad;
    EXPECT_EQ(reply->status, 415) << bad;
  }
  auto missing = r.precheck("", 10);
  ASSERT_TRUE(missing);
  EXPECT_NE(missing->body.find("missing content type"), std::string::npos) << missing->body;
  auto nul = r.precheck("application/json\0evil"s, 10);
  ASSERT_TRUE(nul);
  EXPECT_NE(nul->body.find("application/json\\\\u0000evil"), std::string::npos) << nul->body;
}

TEST_F(ReceiverTest, AcceptedExportIsOneTelemetryFileTheStoreCounts) {
  OtlpReceiver r(config());
  ReceiverReply reply = r.handle(make_export(25));
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, "{}");
  EXPECT_EQ(file_count(), 1U);
  EXPECT_EQ(store_spans(), 25);
  EXPECT_EQ(received_.value(), 25);
}

TEST_F(ReceiverTest, LargeExportIsSplitIntoFilesUnderTheLimitAndEverySpanCounts) {
  ReceiverConfig c = config();
  c.max_file_bytes = 4096;
  OtlpReceiver r(c);
  ReceiverReply reply = r.handle(make_export(200, 100));
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_GT(file_count(), 5U);
  for (const auto& e : fs::directory_iterator(dir_)) EXPECT_LE(e.file_size(), 4096U);
  EXPECT_EQ(store_spans(), 200);
}

TEST_F(ReceiverTest, ExportOverOneMebibyteIsSplitForTheStore) {
  OtlpReceiver r(config());
  const std::string body = make_export(8000, 200);
  ASSERT_GT(body.size(), std::size_t{1} << 20);
  ReceiverReply reply = r.handle(body);
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_GE(file_count(), 2U);
  EXPECT_EQ(store_spans(), 8000);
}

TEST_F(ReceiverTest, ExtraTopLevelFieldsAreDroppedSoTheStoreStillCounts) {
  OtlpReceiver r(config());
  std::string body = make_export(3);
  body.insert(1, R"("id":5,)");  // would make the store reject the file as written
  ASSERT_EQ(r.handle(body).status, 200);
  EXPECT_EQ(store_spans(), 3);
}

TEST_F(ReceiverTest, EmptyExportIsAcceptedAndWritesNothing) {
  OtlpReceiver r(config());
  EXPECT_EQ(r.handle("{}").status, 200);
  EXPECT_EQ(r.handle(R"({"resourceSpans":[]})").status, 200);
  EXPECT_EQ(file_count(), 0U);
}

TEST(ValidateExport, CountsBothScopeKeys) {
  auto n = validate_export(
      R"({"resourceSpans":[{"scopeSpans":[{"spans":[{},{}]}],"instrumentationLibrarySpans":[{"spans":[{}]}]}]})");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 3);
}

}  // namespace
}  // namespace dslmodel::telemetry
