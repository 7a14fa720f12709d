// EtcdJournal: the decision journal in etcd (README.md), for engine replicas on many hosts.
//
// Keys: one record per key P/journal/<seq zero-padded to 20 digits> (P = prefix), whose value is
// the JSON line FileJournal writes (to_json(JournalEntry)), so keys sort in seq order. An append
// is acknowledged only after etcd committed it, which makes it durable on a quorum.
//
// Seqs: append() reads the highest seq and creates the next key with a transaction that requires
// it to be absent; when another writer took that seq first, it reads again and retries, so
// concurrent writers (threads, processes, hosts) get distinct seqs 1, 2, 3… and lose nothing.
//
// Fencing: an entry with epoch > 0 is written only while P/leader still has create_revision
// == epoch (the leader key of ha::EtcdElector), in the same transaction; an ex-leader's append
// fails with kConflict and writes nothing.
//
// Errors: kUnavailable (or kTimeout) when etcd cannot be reached, with the client's message;
// kConflict when fenced; other client errors as the client reports them.
//
// Thread-safety: one object may be used from many threads at once.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "dslmodel/journal.h"
#include "dslmodel/status.h"
#include "etcd/client.h"
#include "journal/history.h"

namespace dslmodel::journal {

class EtcdJournal final : public Journal {
 public:
  // JournalEntry::output is cut to its last this many bytes (at a UTF-8 boundary) on append.
  static constexpr std::size_t kMaxOutputBytes = std::size_t{16} * 1024;
  // Records read per request by read_all().
  static constexpr std::int64_t kPageSize = 1000;

  // Under `prefix` (e.g. "/dslmodel"; a trailing '/' is ignored). REQUIRES: client non-null.
  // Does no I/O.
  EtcdJournal(std::shared_ptr<etcd::Client> client, std::string prefix);

  // Assigns entry.seq = the highest seq + 1 and writes the entry (fenced on entry.epoch when > 0).
  // Returns the seq. Fails: kConflict "fenced: leadership lost (epoch N)" (nothing written), or
  // after many lost races for a seq; kUnavailable/kTimeout when etcd cannot be reached (after a
  // timeout the record may or may not have been written, but was not acknowledged).
  Result<std::int64_t> append(JournalEntry entry) override;

  // Every readable record in seq order, read page by page at one revision (a consistent
  // snapshot). Values that are not a valid record are skipped and counted in corrupt_records().
  Result<std::vector<JournalEntry>> read_all() const override;

  // Folds the records appended since the last call (records are never rewritten in etcd, and a
  // record with a higher seq is committed after every lower one), so a loop reads each record
  // once.
  Result<JournalSummary> summary() const override;

  // Records the most recent read_all() skipped.
  int corrupt_records() const { return corrupt_records_.load(); }

  // P/journal/<seq, 20 digits>.
  std::string key_for(std::int64_t seq) const;
  // P/leader.
  const std::string& leader_key() const { return leader_key_; }

 private:
  Result<std::int64_t> last_seq() const;
  // Calls fn(record) for each readable record with a key in [from, end of the journal), in seq
  // order, page by page at one revision.
  Status scan(const std::string& from, const std::function<void(JournalEntry&&)>& fn,
              int* corrupt) const;

  const std::shared_ptr<etcd::Client> client_;
  const std::string dir_;         // P/journal/
  const std::string leader_key_;  // P/leader
  mutable std::atomic<int> corrupt_records_{0};
  mutable std::mutex fold_mu_;
  mutable HistoryFold fold_;  // guarded by fold_mu_: every record up to fold_.last_seq()
};

}  // namespace dslmodel::journal
