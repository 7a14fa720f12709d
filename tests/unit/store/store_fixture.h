// A temp coordination directory per test, and a fixed clock.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "dslmodel/time.h"
#include "platform/files.h"
#include "store/dir_store.h"

namespace dslmodel::store {

namespace fs = std::filesystem;

inline const fs::path kFixture = fs::path(DSLMODEL_TESTDATA_DIR) / "dslmodel-demo-coordination";

class FakeClock final : public Clock {
 public:
  TimePoint now() const override { return *parse_iso8601("2025-07-01T12:00:00Z"); }
  std::chrono::steady_clock::time_point steady_now() const override { return {}; }
};

class DirStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::path(::testing::TempDir()) / "dir_store_XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::permissions(dir_, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(dir_, ec);
  }

  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::binary) << text;
  }
  std::string read(const fs::path& rel) {
    Result<std::string> text = platform::read_file_limited(dir_ / rel, 1 << 20);
    return text.ok() ? *text : "<" + text.status().message() + ">";
  }
  void copy_fixture() {
    for (const fs::directory_entry& e : fs::directory_iterator(kFixture)) {
      fs::copy_file(e.path(), dir_ / e.path().filename(), fs::copy_options::overwrite_existing);
    }
  }
  Snapshot snap(StoreConfig cfg = {}) {
    DirStore store(dir_, cfg, &clock_);
    Result<Snapshot> s = store.snapshot();
    EXPECT_TRUE(s.ok()) << s.status().message();
    return s.ok() ? *s : Snapshot{};
  }
  RepairOutcome apply(std::vector<RepairAction> actions) {
    Result<RepairOutcome> out = store().apply(actions);
    EXPECT_TRUE(out.ok()) << out.status().message();
    return out.ok() ? *out : RepairOutcome{};
  }
  DirStore store() { return DirStore(dir_, {}, &clock_); }

  fs::path dir_;
  FakeClock clock_;
};

}  // namespace dslmodel::store
