// Per-backend fixtures for the Journal interface suite (journal_suite_test.cc).
//
// A fixture owns one empty journal location (a temp directory, or a fresh prefix on an etcd
// started once per test binary) and opens any number of journals on it: every object it returns
// sees the same records. A new backend is one more fixture class here, added to the type list
// in journal_suite_test.cc.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "dslmodel/journal.h"
#include "etcd/client.h"
#include "etcd_server.h"
#include "journal/etcd_journal.h"
#include "journal/file_journal.h"

namespace dslmodel::journal::suite {

class FileJournalFixture {
 public:
  static constexpr const char* kName = "FileJournal";
  static constexpr std::size_t kMaxOutputBytes = FileJournal::kMaxOutputBytes;

  FileJournalFixture() {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "dsl-journal-suite-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) != nullptr) dir_ = tmpl;
  }
  ~FileJournalFixture() {
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }
  FileJournalFixture(const FileJournalFixture&) = delete;
  FileJournalFixture& operator=(const FileJournalFixture&) = delete;

  // Empty when the backend is unavailable; the suite skips then.
  std::string unavailable() const { return dir_.empty() ? "no temp directory" : ""; }

  std::unique_ptr<Journal> open() const {
    return std::make_unique<FileJournal>(dir_ / ".dsl" / "journal.jsonl");
  }

 private:
  std::filesystem::path dir_;
};

class EtcdJournalFixture {
 public:
  static constexpr const char* kName = "EtcdJournal";
  static constexpr std::size_t kMaxOutputBytes = EtcdJournal::kMaxOutputBytes;

  EtcdJournalFixture() {
    static std::atomic<int> next{0};
    prefix_ = "/dsl-suite-" + std::to_string(next++);
  }

  std::string unavailable() const { return server() ? "" : "etcd did not start"; }

  std::unique_ptr<Journal> open() const {
    etcd::Options options;
    options.request_timeout = std::chrono::milliseconds(5000);
    options.connect_timeout = std::chrono::milliseconds(500);
    auto client =
        std::make_shared<etcd::Client>(std::vector<std::string>{server()->endpoint()}, options);
    return std::make_unique<EtcdJournal>(std::move(client), prefix_);
  }

 private:
  // One etcd per test binary, stopped at exit.
  static testing::EtcdServer* server() {
    static std::unique_ptr<testing::EtcdServer> etcd = testing::EtcdServer::start();
    return etcd.get();
  }

  std::string prefix_;
};

}  // namespace dslmodel::journal::suite
