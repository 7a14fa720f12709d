#include "journal/etcd_journal.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>
#include <utility>

#include "core/json_text.h"
#include "core/utf8_tail.h"

namespace dslmodel::journal {
namespace {

constexpr int kMaxAttempts = 100;  // races lost for a seq before append() gives up
constexpr std::size_t kSeqDigits = 20;

std::string trim_slashes(std::string prefix) {
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  return prefix;
}

// The seq of a record key "<dir><20 digits>", or nullopt for any other key.
std::optional<std::int64_t> seq_of(std::string_view key, std::string_view dir) {
  if (key.size() != dir.size() + kSeqDigits || key.substr(0, dir.size()) != dir) {
    return std::nullopt;
  }
  std::string_view digits = key.substr(dir.size());
  std::int64_t seq = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), seq);
  if (ec != std::errc() || ptr != digits.data() + digits.size() || seq < 0) return std::nullopt;
  return seq;
}

Status with_context(std::string_view what, const Status& s) {
  return Status(s.code(), fmt::format("{}: {}", what, s.message()));
}

}  // namespace

EtcdJournal::EtcdJournal(std::shared_ptr<etcd::Client> client, std::string prefix)
    : client_(std::move(client)),
      dir_(trim_slashes(prefix) + "/journal/"),
      leader_key_(trim_slashes(std::move(prefix)) + "/leader") {}

std::string EtcdJournal::key_for(std::int64_t seq) const {
  return fmt::format("{}{:0{}}", dir_, seq, kSeqDigits);
}

// The highest seq among the record keys (0 when none). Record keys are all digits and sort by
// seq, so the last key in [dir_ "0", dir_ ":") is the answer unless a stray key sits there too.
Result<std::int64_t> EtcdJournal::last_seq() const {
  etcd::RangeOptions last;
  last.range_end = dir_ + ":";
  last.limit = 1;
  last.keys_only = true;
  last.descending = true;
  auto r = client_->range(dir_ + "0", last);
  if (!r.ok()) return r.status();
  if (r->kvs.empty()) return std::int64_t{0};
  if (auto seq = seq_of(r->kvs[0].key, dir_)) return *seq;

  std::int64_t highest = 0;
  etcd::RangeOptions page;
  page.range_end = dir_ + ":";
  page.limit = kPageSize;
  page.keys_only = true;
  std::string from = dir_ + "0";
  while (true) {
    auto keys = client_->range(from, page);
    if (!keys.ok()) return keys.status();
    if (page.revision == 0) page.revision = keys->revision;
    for (const auto& kv : keys->kvs) highest = std::max(highest, seq_of(kv.key, dir_).value_or(0));
    if (!keys->more || keys->kvs.empty()) return highest;
    from = keys->kvs.back().key + '\0';
  }
}

Result<std::int64_t> EtcdJournal::append(JournalEntry entry) {
  using etcd::Compare;
  using etcd::TxnOp;
  entry.output = utf8_tail(std::move(entry.output), kMaxOutputBytes);
  const bool fenced = entry.epoch > 0;
  etcd::RangeOptions keys_only;
  keys_only.keys_only = true;
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    auto last = last_seq();
    if (!last.ok()) return with_context("journal append", last.status());
    entry.seq = *last + 1;
    const std::string key = key_for(entry.seq);
    std::vector<Compare> compares = {Compare::absent(key)};
    std::vector<TxnOp> failure = {TxnOp::get(key, keys_only)};
    if (fenced) {
      compares.push_back(Compare::create_revision(leader_key_, Compare::Op::kEqual, entry.epoch));
      failure.push_back(TxnOp::get(leader_key_, keys_only));
    }
    const std::string value = dump_json(to_json(entry));
    auto r = client_->txn(compares, {TxnOp::put(key, value)}, failure);
    if (!r.ok()) return with_context("journal append", r.status());
    if (r->succeeded) return entry.seq;
    if (fenced && r->ranges.size() == 2) {
      const auto& leader = r->ranges[1].kvs;
      if (leader.empty() || leader[0].create_revision != entry.epoch) {
        return Status(ErrorCode::kConflict,
                      fmt::format("fenced: leadership lost (epoch {})", entry.epoch));
      }
    }
    // Another writer took this seq first: read the highest again.
  }
  return Status(ErrorCode::kConflict,
                fmt::format("journal append: lost the race for a seq {} times", kMaxAttempts));
}

Status EtcdJournal::scan(const std::string& from_key, const std::function<void(JournalEntry&&)>& fn,
                         int* corrupt) const {
  etcd::RangeOptions page;
  page.range_end = etcd::prefix_end(dir_);
  page.limit = kPageSize;
  std::string from = from_key;
  while (true) {
    auto r = client_->range(from, page);
    if (!r.ok()) return with_context("journal read", r.status());
    if (page.revision == 0) page.revision = r->revision;  // every page as of the first
    for (const auto& kv : r->kvs) {
      if (auto entry = journal_entry_from_text(kv.value)) {
        fn(std::move(*entry));
      } else if (corrupt != nullptr) {
        ++*corrupt;
      }
    }
    if (!r->more || r->kvs.empty()) return Status::Ok();
    from = r->kvs.back().key + '\0';
  }
}

Result<std::vector<JournalEntry>> EtcdJournal::read_all() const {
  std::vector<JournalEntry> entries;
  int corrupt = 0;
  Status s = scan(
      dir_, [&](JournalEntry&& e) { entries.push_back(std::move(e)); }, &corrupt);
  if (!s.ok()) return s;
  corrupt_records_.store(corrupt);
  return entries;
}

Result<JournalSummary> EtcdJournal::summary() const {
  std::lock_guard<std::mutex> guard(fold_mu_);
  // Records folded before a failed page stay folded: they are records, and the next call goes on
  // after the last of them.
  Status s = scan(
      key_for(fold_.last_seq() + 1), [&](JournalEntry&& e) { fold_.add(e); }, nullptr);
  if (!s.ok()) return s;
  return summary_of(fold_);
}

}  // namespace dslmodel::journal
