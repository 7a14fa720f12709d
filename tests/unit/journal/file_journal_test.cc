#include "journal/file_journal.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "unit/journal/journal_dir_test.h"

namespace dslmodel::journal {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

TimePoint at_ms(std::int64_t ms) { return TimePoint(std::chrono::milliseconds(ms)); }

JournalEntry make_entry(Outcome outcome, const std::string& id,
                        const std::string& type = "scale_up") {
  JournalEntry e;
  e.at = at_ms(1'750'000'000'123);
  e.outcome = outcome;
  e.decision.id = id;
  e.decision.type = type;
  e.decision.confidence = 0.75;
  e.decision.created_at = at_ms(1'750'000'000'000);
  return e;
}

class FileJournalTest : public JournalDirTest {
 protected:
  std::string raw() const {
    std::ifstream in(file_, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  void append_raw(const std::string& bytes) const {
    std::ofstream(file_, std::ios::binary | std::ios::app) << bytes;
  }
};

// Every seq from 1 to n appears exactly once, in increasing order.
void expect_contiguous(const std::vector<JournalEntry>& entries, std::size_t n) {
  ASSERT_EQ(entries.size(), n);
  for (std::size_t i = 0; i < entries.size(); ++i) {
    EXPECT_EQ(entries[i].seq, static_cast<std::int64_t>(i + 1)) << "at index " << i;
  }
}

TEST_F(FileJournalTest, ReadingAMissingFileCreatesNothing) {
  FileJournal j(file_);
  ASSERT_TRUE(j.read_all().ok());
  EXPECT_EQ(j.corrupt_lines(), 0);
  EXPECT_FALSE(fs::exists(file_));
}

TEST_F(FileJournalTest, AppendCreatesDirectories) {
  FileJournal j(file_);
  ASSERT_TRUE(j.append(make_entry(Outcome::kExecuted, "dec-1")).ok());
  EXPECT_TRUE(fs::is_regular_file(file_));
}

TEST_F(FileJournalTest, EpochRoundTrips) {
  JournalEntry e = make_entry(Outcome::kExecuted, "dec-9");
  e.epoch = 42;
  FileJournal j(file_);
  ASSERT_TRUE(j.append(e).ok());
  auto all = j.read_all();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ(all->front().epoch, 42);
}

TEST_F(FileJournalTest, WritesOneCompactJsonObjectPerLine) {
  FileJournal j(file_);
  JournalEntry e = make_entry(Outcome::kExecuted, "a");
  e.output = "multi\nline\noutput";
  ASSERT_TRUE(j.append(e).ok());
  ASSERT_TRUE(j.append(make_entry(Outcome::kSkipped, "b")).ok());
  std::istringstream lines(raw());
  int count = 0;
  for (std::string line; std::getline(lines, line); ++count) {
    auto parsed = nlohmann::json::parse(line, nullptr, false);
    ASSERT_TRUE(parsed.is_object()) << line;
    EXPECT_EQ(parsed.dump(), line);
    EXPECT_EQ(parsed["outcome"], count == 0 ? "executed" : "skipped");
    EXPECT_EQ(parsed["at"], "2025-06-15T15:06:40.123Z");
  }
  EXPECT_EQ(count, 2);
  EXPECT_EQ(raw().back(), '\n');
}

TEST_F(FileJournalTest, TornLastLineIsSkippedAndTheNextAppendRemovesIt) {
  FileJournal j(file_);
  ASSERT_TRUE(j.append(make_entry(Outcome::kExecuted, "a")).ok());
  ASSERT_TRUE(j.append(make_entry(Outcome::kExecuted, "b")).ok());
  append_raw(R"({"seq":3,"at":"2025-06-15T15:0)");
  auto torn = j.read_all();
  ASSERT_TRUE(torn.ok());
  expect_contiguous(*torn, 2);
  EXPECT_EQ(j.corrupt_lines(), 1);

  auto seq = j.append(make_entry(Outcome::kExecuted, "c"));
  ASSERT_TRUE(seq.ok());
  EXPECT_EQ(*seq, 3);
  auto all = j.read_all();
  ASSERT_TRUE(all.ok());
  expect_contiguous(*all, 3);
  EXPECT_EQ((*all)[2].decision.id, "c");
  EXPECT_EQ(j.corrupt_lines(), 0);
  EXPECT_EQ(raw().back(), '\n');
  EXPECT_EQ(raw().find("15:0{"), std::string::npos) << "no record glued to the torn bytes";
}

// Captures what the default spdlog logger writes while it lives.
class LogCapture {
 public:
  LogCapture()
      : sink_(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(64)),
        previous_(spdlog::default_logger()) {
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("capture", sink_));
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;
  std::vector<std::string> lines() const { return sink_->last_formatted(); }

 private:
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_;
  std::shared_ptr<spdlog::logger> previous_;
};

// As a kill -9 mid-append leaves it: the file cut at every offset inside its last record. The
// reader keeps the records before it and warns once naming the file and the offset; the next
// append removes the torn bytes, so the journal is whole again and the new record has a line of
// its own.
TEST_F(FileJournalTest, TruncatedLastLineIsWarnedOnceAndRepairedOnTheNextAppend) {
  {
    FileJournal j(file_);
    for (const char* id : {"a", "b", "c"})
      ASSERT_TRUE(j.append(make_entry(Outcome::kExecuted, id)).ok());
  }
  const std::string whole = raw();
  const std::size_t last_start = whole.rfind('\n', whole.size() - 2) + 1;
  std::vector<std::size_t> cuts;
  for (std::size_t at = last_start + 1; at < whole.size() - 1; at += 7) cuts.push_back(at);
  cuts.push_back(whole.size() - 2);  // only the closing brace and the newline lost
  for (std::size_t cut : cuts) {
    SCOPED_TRACE("cut at byte " + std::to_string(cut));
    std::ofstream(file_, std::ios::binary | std::ios::trunc) << whole.substr(0, cut);
    FileJournal j(file_);
    LogCapture log;
    for (int read = 0; read < 3; ++read) {
      auto torn = j.read_all();
      ASSERT_TRUE(torn.ok()) << torn.status().message();
      expect_contiguous(*torn, 2);
      EXPECT_EQ(j.corrupt_lines(), 1);
    }
    const std::vector<std::string> warned = log.lines();
    ASSERT_EQ(warned.size(), 1u) << "warned once, not once per read";
    EXPECT_NE(warned[0].find(file_.string()), std::string::npos) << warned[0];
    EXPECT_NE(warned[0].find("at byte " + std::to_string(last_start)), std::string::npos)
        << warned[0];

    auto seq = j.append(make_entry(Outcome::kExecuted, "d"));
    ASSERT_TRUE(seq.ok()) << seq.status().message();
    EXPECT_EQ(*seq, 3);
    auto all = j.read_all();
    ASSERT_TRUE(all.ok());
    expect_contiguous(*all, 3);
    EXPECT_EQ((*all)[2].decision.id, "d");
    EXPECT_EQ(j.corrupt_lines(), 0);
    const std::string after = raw();
    EXPECT_EQ(after.substr(0, last_start), whole.substr(0, last_start)) << "the rest is kept";
    EXPECT_EQ(std::count(after.begin(), after.end(), '\n'), 3);
  }
}

// A last record that lost only its '\n' is whole: it is kept and sealed, never cut off.
TEST_F(FileJournalTest, LastRecordMissingOnlyItsNewlineIsKept) {
  {
    FileJournal j(file_);
    for (const char* id : {"a", "b"})
      ASSERT_TRUE(j.append(make_entry(Outcome::kExecuted, id)).ok());
  }
  const std::string whole = raw();
  std::ofstream(file_, std::ios::binary | std::ios::trunc) << whole.substr(0, whole.size() - 1);
  FileJournal j(file_);
  auto before = j.read_all();
  ASSERT_TRUE(before.ok());
  expect_contiguous(*before, 2);
  auto seq = j.append(make_entry(Outcome::kExecuted, "c"));
  ASSERT_TRUE(seq.ok());
  EXPECT_EQ(*seq, 3);
  auto all = j.read_all();
  ASSERT_TRUE(all.ok());
  expect_contiguous(*all, 3);
  EXPECT_EQ(j.corrupt_lines(), 0);
}

// A journal, or the directory it lives in, linked to elsewhere is refused: nothing is appended
// outside the directory.
TEST_F(FileJournalTest, SymlinkedJournalOrDirectoryIsRefused) {
  const fs::path outside = dir_ / "outside";
  fs::create_directories(outside);
  fs::create_directories(file_.parent_path());
  std::ofstream(outside / "victim.jsonl") << "precious\n";
  fs::create_symlink(outside / "victim.jsonl", file_);
  {
    FileJournal j(file_);
    auto seq = j.append(make_entry(Outcome::kExecuted, "a"));
    ASSERT_FALSE(seq.ok());
    EXPECT_EQ(seq.status().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(seq.status().message().find(file_.string() + ": is a symlink"), std::string::npos)
        << seq.status().message();
    auto read = j.read_all();
    ASSERT_FALSE(read.ok());
    EXPECT_EQ(read.status().code(), ErrorCode::kInvalidArgument);
  }
  std::ifstream in(outside / "victim.jsonl");
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, "precious\n");

  // .dsl itself a symlink to a directory elsewhere.
  fs::remove_all(file_.parent_path());  // the journal's link and lock file
  fs::create_directory_symlink(outside, file_.parent_path());
  FileJournal j(file_);
  auto seq = j.append(make_entry(Outcome::kExecuted, "a"));
  ASSERT_FALSE(seq.ok());
  EXPECT_EQ(seq.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(seq.status().message().find(file_.parent_path().string() + ": is a symlink"),
            std::string::npos)
      << seq.status().message();
  EXPECT_FALSE(fs::exists(outside / "journal.jsonl"));
  EXPECT_FALSE(j.read_all().ok());
}

TEST_F(FileJournalTest, CorruptLinesAnywhereAreSkippedAndCounted) {
  FileJournal j(file_);
  ASSERT_TRUE(j.append(make_entry(Outcome::kExecuted, "a")).ok());
  append_raw("not json\n[1,2]\n{\"seq\":\"x\",\"at\":\"2025-01-01\",\"outcome\":\"executed\"}\n");
  append_raw("{\"seq\":9,\"at\":\"2025-01-01\",\"outcome\":\"exploded\"}\n\n");
  ASSERT_TRUE(j.append(make_entry(Outcome::kExecuted, "b")).ok());
  auto all = j.read_all();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ(j.corrupt_lines(), 4);
  // The highest seq seen in any JSON line is never reused.
  EXPECT_EQ((*all)[1].seq, 10);
}

TEST_F(FileJournalTest, UnwritableLocationFailsWithIo) {
  std::ofstream(dir_ / "plain-file") << "x";
  FileJournal j(dir_ / "plain-file" / "journal.jsonl");
  auto seq = j.append(make_entry(Outcome::kExecuted, "a"));
  ASSERT_FALSE(seq.ok());
  EXPECT_EQ(seq.status().code(), ErrorCode::kIo);
}

TEST_F(FileJournalTest, FileReplacedUnderneathIsReopened) {
  FileJournal j(file_);
  ASSERT_TRUE(j.append(make_entry(Outcome::kExecuted, "a")).ok());
  fs::rename(file_, dir_ / "old.jsonl");
  auto seq = j.append(make_entry(Outcome::kExecuted, "b"));
  ASSERT_TRUE(seq.ok());
  EXPECT_EQ(*seq, 1);
  auto all = j.read_all();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ(all->front().decision.id, "b");
}

TEST_F(FileJournalTest, ForkedProcessesAppendingTogetherKeepUniqueSeqs) {
  constexpr std::size_t kChildren = 2;
  constexpr std::size_t kEach = 40;
  std::vector<pid_t> pids;
  for (std::size_t c = 0; c < kChildren; ++c) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      FileJournal mine(file_);
      for (std::size_t i = 0; i < kEach; ++i) {
        if (!mine.append(make_entry(Outcome::kExecuted, "child")).ok()) ::_exit(1);
      }
      ::_exit(0);
    }
    pids.push_back(pid);
  }
  for (pid_t pid : pids) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  FileJournal reader(file_);
  auto all = reader.read_all();
  ASSERT_TRUE(all.ok());
  expect_contiguous(*all, kChildren * kEach);
  EXPECT_EQ(reader.corrupt_lines(), 0);
}

// A child appends in a loop and reports each acknowledged seq on a pipe; it is SIGKILLed at a
// random moment. The journal must stay readable and hold every acknowledged record.
TEST_F(FileJournalTest, KillDashNineNeverLosesAnAcknowledgedRecord) {
  std::random_device rd;
  unsigned seed = rd();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> delay_ms(5, 60);
  std::int64_t acknowledged = 0;
  for (int round = 0; round < 5; ++round) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(fds[0]);
      FileJournal mine(file_);
      JournalEntry e = make_entry(Outcome::kExecuted, "victim");
      e.output = std::string(3000, 'o');
      while (true) {
        auto seq = mine.append(e);
        if (!seq.ok()) ::_exit(1);
        std::int64_t v = *seq;
        if (::write(fds[1], &v, sizeof v) != sizeof v) ::_exit(2);
      }
    }
    ::close(fds[1]);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(rng)));
    ::kill(pid, SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFSIGNALED(status)) << "the child stopped on its own: " << status;
    for (std::int64_t v = 0; ::read(fds[0], &v, sizeof v) == sizeof v;) acknowledged = v;
    ::close(fds[0]);

    FileJournal reader(file_);
    auto all = reader.read_all();
    ASSERT_TRUE(all.ok()) << all.status().message();
    EXPECT_LE(reader.corrupt_lines(), round + 1);
    ASSERT_GE(static_cast<std::int64_t>(all->size()), acknowledged);
    expect_contiguous(*all, all->size());
    for (const JournalEntry& e : *all) EXPECT_EQ(e.output.size(), 3000u);
  }
  FileJournal after(file_);
  auto before = after.read_all();
  ASSERT_TRUE(before.ok());
  auto seq = after.append(make_entry(Outcome::kExecuted, "after"));
  ASSERT_TRUE(seq.ok());
  EXPECT_EQ(*seq, static_cast<std::int64_t>(before->size()) + 1);
  auto final_read = after.read_all();
  ASSERT_TRUE(final_read.ok());
  expect_contiguous(*final_read, before->size() + 1);
}

}  // namespace
}  // namespace dslmodel::journal
