#include "telemetry/file_exporter.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "telemetry/memory_exporter.h"

namespace dslmodel::telemetry {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "dsl-fexp-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

SpanData span(const std::string& name) {
  SpanData s;
  s.name = name;
  s.trace_id = new_trace_id();
  s.span_id = new_span_id();
  s.start_unix_nano = 1;
  s.end_unix_nano = 2;
  return s;
}

std::vector<std::string> lines_of(const fs::path& p) {
  std::ifstream in(p);
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

TEST(FileExporter, OneOtlpJsonLinePerExportAppended) {
  TempDir dir;
  const fs::path file = dir.path() / "spans.jsonl";
  {
    std::ofstream(file) << "existing\n";
    auto e = FileExporter::create(file, Resource{"svc", {}});
    ASSERT_TRUE(e.ok()) << e.status().message();
    (*e)->export_spans({span("a"), span("b")});
    (*e)->export_spans({});
    (*e)->export_spans({span("c")});
    EXPECT_TRUE((*e)->flush(std::chrono::milliseconds(10)));
    EXPECT_EQ((*e)->stats().exported, 3U);
    EXPECT_EQ((*e)->stats().dropped, 0U);
  }
  const auto lines = lines_of(file);
  ASSERT_EQ(lines.size(), 3U);
  EXPECT_EQ(lines[0], "existing");
  const auto first = nlohmann::json::parse(lines[1]);
  EXPECT_EQ(first["resourceSpans"][0]["scopeSpans"][0]["spans"].size(), 2U);
  EXPECT_EQ(first["resourceSpans"][0]["resource"]["attributes"][0]["value"]["stringValue"], "svc");
  EXPECT_EQ(
      nlohmann::json::parse(lines[2])["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["name"],
      "c");
}

TEST(FileExporter, ConcurrentWritersProduceWholeLines) {
  TempDir dir;
  const fs::path file = dir.path() / "spans.jsonl";
  auto e = FileExporter::create(file);
  ASSERT_TRUE(e.ok());
  std::vector<std::thread> threads;
  threads.reserve(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) (*e)->export_spans({span("s")});
    });
  }
  for (auto& th : threads) th.join();
  const auto lines = lines_of(file);
  ASSERT_EQ(lines.size(), 200U);
  for (const auto& l : lines) EXPECT_FALSE(nlohmann::json::parse(l, nullptr, false).is_discarded());
  EXPECT_EQ((*e)->stats().exported, 200U);
}

TEST(FileExporter, MissingDirectoryIsAnIoError) {
  TempDir dir;
  auto e = FileExporter::create(dir.path() / "no" / "such" / "spans.jsonl");
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), ErrorCode::kIo);
}

TEST(FileExporter, WriteErrorsCountAsDropped) {
  if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  auto e = FileExporter::create("/dev/full");
  ASSERT_TRUE(e.ok());
  (*e)->export_spans({span("a"), span("b")});
  EXPECT_EQ((*e)->stats().dropped, 2U);
  EXPECT_EQ((*e)->stats().failed_requests, 1U);
  EXPECT_EQ((*e)->stats().exported, 0U);
}

TEST(MemoryExporter, KeepsSpansUntilCleared) {
  MemoryExporter m;
  m.export_spans({span("a")});
  m.export_spans({span("b"), span("c")});
  ASSERT_EQ(m.spans().size(), 3U);
  EXPECT_EQ(m.spans()[2].name, "c");
  EXPECT_TRUE(m.flush(std::chrono::milliseconds(0)));
  m.clear();
  EXPECT_TRUE(m.spans().empty());
  EXPECT_EQ(m.stats().exported, 3U);
}

}  // namespace
}  // namespace dslmodel::telemetry
